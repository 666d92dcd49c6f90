// `npm start`: the whole back end on this machine: the MX sandbox, dynalite, the local workflow and the
// Connect API, behind an API Gateway-like server that accepts tokens from the local development issuer.
// `startAll()` is the same composition for tests and the demo.
import "./polyfills";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import { apiRoutes } from "../shared/api/routes";
import { createDevIssuer, type DevIssuer, type DevTokenOptions } from "./api/jwt";
import { type ApiServer, type LocalRoute, startApiServer } from "./api/server";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "./stack";

/** A local example app's URL, allow-listed so OAuth can send the browser back to it. */
export const LOCAL_EXAMPLE_APP_URL = "http://localhost:5173/";

export interface StartAllOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** The dev issuer's key file; `null` (tests) keeps a fresh key in memory. Default `.local/dev-jwt-key.json`. */
  jwtKeyFile?: string | null;
  /** URL prefixes an OAuth member's `redirect_url` may start with. Default: the local example app. */
  redirectAllowList?: readonly string[];
  /** Passed to `startLocalStack` (sandbox knobs, workflow speed, …). */
  stack?: LocalStackOptions;
  routes?: readonly LocalRoute[];
  /** The API's access log and errors (default stdout). */
  log?: (line: string) => void;
}

export interface RunningAll {
  apiUrl: string;
  /** A token from the local development issuer, for `userId`. */
  issueToken(userId: string, options?: DevTokenOptions): Promise<string>;
  issuer: DevIssuer;
  api: ApiServer;
  stack: LocalStack;
  close(): Promise<void>;
}

export async function startAll(options: StartAllOptions = {}): Promise<RunningAll> {
  const issuer = await createDevIssuer({ keyFile: options.jwtKeyFile });
  // The API listens first so its URL is known before any handler reads its configuration; handler
  // modules are imported on first request, after the stack has set the rest of the environment.
  const api = await startApiServer({
    routes: options.routes ?? apiRoutes,
    authorizer: issuer.authorizer,
    port: options.port ?? 0,
    ...(options.host ? { host: options.host } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let stack: LocalStack;
  try {
    // The API's own settings, passed as the stack's extra env so they win over the template's literals.
    const apiEnv = {
      API_BASE_URL: api.url,
      REDIRECT_ALLOW_LIST: (options.redirectAllowList ?? [LOCAL_EXAMPLE_APP_URL]).join(","),
    };
    stack = await startLocalStack({ ...options.stack, env: { ...apiEnv, ...options.stack?.env } });
  } catch (error) {
    await api.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    apiUrl: api.url,
    issueToken: (userId, tokenOptions) => issuer.issueDevToken(userId, tokenOptions),
    issuer,
    api,
    stack,
    close: () => {
      // API first: no new request reaches a stack that is going away.
      closing ??= api.close().finally(() => stack.close());
      return closing;
    },
  };
}

const startEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DEV_JWT_KEY_FILE: z.string().min(1).optional(),
  REDIRECT_ALLOW_LIST: z.string().optional(),
});

async function main(): Promise<void> {
  const parsed = startEnvSchema.safeParse({
    ...process.env,
    DEV_JWT_KEY_FILE: process.env.DEV_JWT_KEY_FILE || undefined,
    REDIRECT_ALLOW_LIST: process.env.REDIRECT_ALLOW_LIST || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    console.error(`npm start: invalid environment: ${problems}`);
    process.exitCode = 2;
    return;
  }
  const env = parsed.data;
  const running = await startAll({
    port: env.PORT,
    host: env.HOST,
    ...(env.DEV_JWT_KEY_FILE ? { jwtKeyFile: env.DEV_JWT_KEY_FILE } : {}),
    ...(env.REDIRECT_ALLOW_LIST ? { redirectAllowList: env.REDIRECT_ALLOW_LIST.split(",") } : {}),
  });

  console.log(
    [
      "",
      running.stack.sandbox
        ? "mx-connect is running locally (offline: MX sandbox, dynalite, local workflow)."
        : "mx-connect is running locally against real MX (MX_BASE_URL, MX_CLIENT_ID, MX_API_KEY are set).",
      `  API          ${running.apiUrl}   (try GET /v1/institutions?name=mx)`,
      running.stack.sandbox
        ? `  MX sandbox   ${running.stack.sandbox.url}   (mxbank: username mxuser; the password picks the outcome)`
        : `  MX           ${running.stack.env.MX_BASE_URL}`,
      `  OAuth return ${process.env.REDIRECT_ALLOW_LIST} (allow-listed redirect_url)`,
      "",
      "A token for a user (development issuer, development-only key in .local/):",
      "  TOKEN=$(npm run -s dev-token -- alice)",
      `  curl -H "Authorization: Bearer $TOKEN" ${running.apiUrl}/v1/members`,
      "",
      "Ctrl+C stops everything.",
    ].join("\n"),
  );

  // The app events (EventBridge locally), one line each, as a client app's rule would receive them.
  running.stack.aws.events.onEvent((event) => {
    console.log(`event ${event.detailType} ${JSON.stringify(event.detail)}`);
  });

  const stop = (signal: NodeJS.Signals) => {
    console.log(`\n${signal}: stopping…`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("could not stop cleanly:", error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

// Run only as the entry script (`npm start`), not when imported by tests or the demo.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}

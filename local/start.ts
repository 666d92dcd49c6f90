// `npm start`: the whole back end on this machine: the MX sandbox, dynalite, the local workflow and the
// Connect API, behind an API Gateway-like server that accepts tokens from the local development issuer.
// `startAll()` is the same composition for tests and the demo.
import "./polyfills";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as z from "zod";
import { parseCorsOrigins } from "../shared/api/cors";
import { buildOpenApiDocument } from "../shared/api/openapi";
import { apiRoutes, routeTimeoutSeconds } from "../shared/api/routes";
import { createDevIssuer, type DevIssuer, type DevTokenOptions } from "./api/jwt";
import { type ApiServer, type LocalRoute, startApiServer } from "./api/server";
import { createDevSite } from "./api/site";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "./stack";

/** A local example app's URL, allow-listed so OAuth can send the browser back to it. */
export const LOCAL_EXAMPLE_APP_URL = "http://localhost:5173/";
/** The example app `npm start` serves at `/` (plain files, no build step). */
export const EXAMPLE_APP_DIR = fileURLToPath(new URL("../examples/connect-web", import.meta.url));

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
  /** Origins a browser app may call the API from (CORS, as CDK context `corsOrigins`). Default none. */
  corsOrigins?: readonly string[];
  /** HTTP API's integration timeout (default 30 s, its maximum): tests shorten it. */
  integrationTimeoutMs?: number;
}

export interface RunningAll {
  apiUrl: string;
  /** A token from the local development issuer, for `userId`. */
  issueToken(userId: string, options?: DevTokenOptions): Promise<string>;
  issuer: DevIssuer;
  api: ApiServer;
  /** The example app (examples/connect-web) served by the API server; also on `localhost`. */
  appUrl: string;
  stack: LocalStack;
  close(): Promise<void>;
}

export async function startAll(options: StartAllOptions = {}): Promise<RunningAll> {
  const issuer = await createDevIssuer({ keyFile: options.jwtKeyFile });
  let apiUrl = "";
  // The API listens first so its URL is known before any handler reads its configuration; handler
  // modules are imported on first request, after the stack has set the rest of the environment.
  const api = await startApiServer({
    routes:
      options.routes ?? apiRoutes.map((route) => ({ ...route, timeoutSeconds: routeTimeoutSeconds(route) })),
    authorizer: issuer.authorizer,
    port: options.port ?? 0,
    ...(options.host ? { host: options.host } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.corsOrigins ? { cors: { allowOrigins: options.corsOrigins } } : {}),
    ...(options.integrationTimeoutMs ? { integrationTimeoutMs: options.integrationTimeoutMs } : {}),
    site: createDevSite({
      appDir: EXAMPLE_APP_DIR,
      openApi: () => buildOpenApiDocument({ serverUrl: apiUrl }),
      issueToken: (userId) => issuer.issueDevToken(userId),
    }),
  });
  apiUrl = api.url;
  const appUrl = `${api.url}/`;
  // The example app returns from the bank to itself, by either name of this machine.
  const exampleAppUrls = [appUrl, `http://localhost:${api.port}/`];
  let stack: LocalStack;
  try {
    // The API's own settings, passed as the stack's extra env so they win over the template's literals.
    const apiEnv = {
      API_BASE_URL: api.url,
      REDIRECT_ALLOW_LIST: (options.redirectAllowList ?? [LOCAL_EXAMPLE_APP_URL, ...exampleAppUrls]).join(
        ",",
      ),
    };
    // MX's webhooks (the sandbox's) come to this API, as MX's would to the deployed one.
    stack = await startLocalStack({
      webhookUrl: `${api.url}/v1/mx/webhooks`,
      ...options.stack,
      env: { ...apiEnv, ...options.stack?.env },
    });
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
    appUrl,
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
  CORS_ORIGINS: z.string().optional(),
  MX_SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  // As CDK context `extendedHistory`: first syncs ask MX for up to 24 months of transactions.
  EXTENDED_HISTORY: z.enum(["true", "false"]).optional(),
});

async function main(): Promise<void> {
  const parsed = startEnvSchema.safeParse({
    ...process.env,
    DEV_JWT_KEY_FILE: process.env.DEV_JWT_KEY_FILE || undefined,
    REDIRECT_ALLOW_LIST: process.env.REDIRECT_ALLOW_LIST || undefined,
    CORS_ORIGINS: process.env.CORS_ORIGINS || undefined,
    MX_SANDBOX_PORT: process.env.MX_SANDBOX_PORT || undefined,
    EXTENDED_HISTORY: process.env.EXTENDED_HISTORY || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    console.error(`npm start: invalid environment: ${problems}`);
    process.exitCode = 2;
    return;
  }
  const env = parsed.data;
  let corsOrigins: string[];
  try {
    corsOrigins = parseCorsOrigins(env.CORS_ORIGINS);
  } catch (error) {
    console.error(`npm start: invalid environment: CORS_ORIGINS: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  // Sync progress (polls, MFA rounds, each run's end) is logged at INFO: worth seeing while trying it out.
  process.env.LOG_LEVEL ||= "INFO";
  const running = await startAll({
    corsOrigins,
    stack: {
      ...(env.MX_SANDBOX_PORT !== undefined ? { sandbox: { port: env.MX_SANDBOX_PORT } } : {}),
      ...(env.EXTENDED_HISTORY ? { env: { EXTENDED_HISTORY: env.EXTENDED_HISTORY } } : {}),
    },
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
      `  Example app  ${running.appUrl}   (open it in a browser: sign in, connect a bank)`,
      `  API          ${running.apiUrl}   (try GET /v1/institutions?name=mx)`,
      `  Reference    ${running.apiUrl}/docs   (OpenAPI document: ${running.apiUrl}/openapi.json)`,
      running.stack.sandbox
        ? `  MX sandbox   ${running.stack.sandbox.url}   (mxbank: username mxuser; the password picks the outcome)`
        : `  MX           ${running.stack.env.MX_BASE_URL}`,
      `  OAuth return ${process.env.REDIRECT_ALLOW_LIST} (allow-listed redirect_url)`,
      `  CORS         ${corsOrigins.length > 0 ? corsOrigins.join(", ") : "off (CORS_ORIGINS)"}`,
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

// A local stand-in for API Gateway's HTTP API: matches routes like it does, runs the JWT authorizer, builds
// payload format 2.0 events, calls the same handler modules the Lambdas run, and maps their v2 responses
// back to HTTP, including API Gateway's own error answers. The handlers cannot tell it from AWS.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import * as z from "zod";
import { createLambdaContext, LOCAL_ACCOUNT_ID } from "../lambda-context";
import type { JwtAuthorizer, JwtAuthorizerContext } from "./jwt";

export interface LocalRoute {
  /** An HTTP method, or ANY. */
  method: string;
  /** API Gateway route syntax: literal segments, `{name}` and a final greedy `{name+}`. */
  path: string;
  /** The handler module (exports `handler`), relative to `rootDir` unless absolute. */
  entry: string;
  /** Skips the JWT authorizer (the OAuth callback). */
  public?: true;
  id: string;
  /** Authorization scopes: the token must carry at least one of them. */
  scopes?: readonly string[];
}

/** The v2 event with the JWT authorizer context the way API Gateway fills it (absent on public routes). */
export type LocalApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2["requestContext"] & { authorizer?: JwtAuthorizerContext };
};

type LambdaHandler = (event: LocalApiEvent, context: Context) => unknown;

export interface ApiServerOptions {
  routes: readonly LocalRoute[];
  authorizer: JwtAuthorizer;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Where route entries are resolved from; default the repo root. */
  rootDir?: string;
  /** API Gateway's payload limit is 10 MB; larger bodies get its 413. */
  maxBodyBytes?: number;
  /** HTTP API's integration timeout (30 s max): a slower handler gets its 503. */
  integrationTimeoutMs?: number;
  /** One line per request (route key, status, latency; never the path, which may carry an OAuth state). */
  log?: (line: string) => void;
  /** Overrides how an entry's handler is loaded (default: dynamic import, once per entry). */
  loadHandler?: (entry: string) => Promise<LambdaHandler>;
}

export interface ApiServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TEN_MB = 10 * 1024 * 1024;

// API Gateway's own bodies for the answers it gives without calling the integration.
const GATEWAY_ERRORS = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Request Entity Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
} as const;

interface CompiledRoute {
  route: LocalRoute;
  routeKey: string;
  segments: readonly string[];
  /** Literal segments before parameters, so the most specific route wins as in API Gateway. */
  rank: readonly number[];
}

function compile(route: LocalRoute): CompiledRoute {
  const segments = route.path.split("/").slice(1);
  const rank = segments.map((s) => (s.endsWith("+}") ? 0 : s.startsWith("{") ? 1 : 2));
  return { route, routeKey: `${route.method} ${route.path}`, segments, rank };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchPath(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < compiled.segments.length; i++) {
    const template = compiled.segments[i] ?? "";
    const part = parts[i];
    if (template.startsWith("{") && template.endsWith("+}")) {
      if (part === undefined || part === "") return undefined;
      params[template.slice(1, -2)] = decodeSegment(parts.slice(i).join("/"));
      return params;
    }
    if (part === undefined) return undefined;
    if (template.startsWith("{") && template.endsWith("}")) {
      if (part === "") return undefined;
      params[template.slice(1, -1)] = decodeSegment(part);
    } else if (template !== part) {
      return undefined;
    }
  }
  return parts.length === compiled.segments.length ? params : undefined;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (b[i] ?? -1) - (a[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Text bodies reach Lambda as strings; anything else base64-encoded, as API Gateway does. */
function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/javascript"
  );
}

function apiGatewayTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Past the limit the rest is still read (and dropped) before the 413 goes out: answering mid-upload and
  // closing would reset the connection under a client still sending, and it would never see the 413.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers["content-length"] ?? 0) > limit ? limit + 1 : 0;
    req.on("data", (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) chunks.length = 0;
      else chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(new BodyTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

const structuredResultSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  cookies: z.array(z.string()).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

interface HttpAnswer {
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
}

/** Maps a handler's result to HTTP as payload format 2.0 does; undefined when API Gateway would answer 500. */
export function toHttpAnswer(result: unknown): HttpAnswer | undefined {
  if (result !== null && typeof result === "object" && !Array.isArray(result) && "statusCode" in result) {
    const parsed = structuredResultSchema.safeParse(result);
    if (!parsed.success) return undefined;
    const { statusCode, headers = {}, cookies = [], body = "", isBase64Encoded } = parsed.data;
    return {
      statusCode,
      headers: [
        ...Object.entries(headers).map(([k, v]): [string, string] => [k.toLowerCase(), String(v)]),
        ...cookies.map((c): [string, string] => ["set-cookie", c]),
      ],
      body: Buffer.from(body, isBase64Encoded ? "base64" : "utf8"),
    };
  }
  // Without a statusCode, API Gateway assumes 200, application/json, and the function's JSON payload as body.
  return {
    statusCode: 200,
    headers: [["content-type", "application/json"]],
    body: Buffer.from(JSON.stringify(result ?? null)),
  };
}

function send(res: ServerResponse, answer: HttpAnswer, requestId: string): void {
  const headers = new Map<string, string[]>();
  for (const [name, value] of answer.headers) headers.set(name, [...(headers.get(name) ?? []), value]);
  headers.set("apigw-requestid", [requestId]);
  headers.set("content-length", [String(answer.body.length)]);
  for (const [name, values] of headers) res.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
  res.writeHead(answer.statusCode);
  res.end(answer.body);
}

function gatewayError(status: keyof typeof GATEWAY_ERRORS, extra: [string, string][] = []): HttpAnswer {
  return {
    statusCode: status,
    headers: [["content-type", "application/json"], ...extra],
    body: Buffer.from(JSON.stringify({ message: GATEWAY_ERRORS[status] })),
  };
}

function defaultLoader(rootDir: string): (entry: string) => Promise<LambdaHandler> {
  return async (entry) => {
    const file = isAbsolute(entry) ? entry : resolve(rootDir, entry);
    const mod = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { handler?: unknown };
    if (typeof mod.handler !== "function") throw new Error(`${entry} does not export a handler function`);
    return mod.handler as LambdaHandler;
  };
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const compiled = options.routes.map(compile);
  const maxBodyBytes = options.maxBodyBytes ?? TEN_MB;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? 30_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const load = options.loadHandler ?? defaultLoader(options.rootDir ?? REPO_ROOT);
  // Imported lazily, once per entry (a warm Lambda), so env set after start is what handlers read.
  const handlers = new Map<string, Promise<LambdaHandler>>();
  const handlerFor = (entry: string) => {
    let handler = handlers.get(entry);
    if (!handler) {
      handler = load(entry);
      handlers.set(entry, handler);
      handler.catch(() => handlers.delete(entry));
    }
    return handler;
  };

  async function answer(
    req: IncomingMessage,
    requestId: string,
    started: Date,
  ): Promise<[HttpAnswer, string]> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const queryAt = rawUrl.indexOf("?");
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? "" : rawUrl.slice(queryAt + 1);

    const parts = rawPath.split("/").slice(1);
    const candidates = compiled
      .filter((c) => c.route.method === method || c.route.method === "ANY")
      .map((c) => ({ c, params: matchPath(c, parts) }))
      .filter((m): m is { c: CompiledRoute; params: Record<string, string> } => m.params !== undefined)
      .sort(
        (a, b) =>
          compareRank(a.c.rank, b.c.rank) ||
          (a.c.route.method === "ANY" ? 1 : 0) - (b.c.route.method === "ANY" ? 1 : 0),
      );
    const match = candidates[0];
    if (!match) return [gatewayError(404), "-"];
    const { route, routeKey } = match.c;

    // Headers: lower-cased, duplicates comma-joined; cookies move to their own field.
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] ?? "").toLowerCase();
      const value = req.rawHeaders[i + 1] ?? "";
      if (name === "cookie") {
        cookies.push(
          ...value
            .split(";")
            .map((c) => c.trim())
            .filter(Boolean),
        );
        continue;
      }
      headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    }
    const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "127.0.0.1";
    headers["x-forwarded-for"] = headers["x-forwarded-for"]
      ? `${headers["x-forwarded-for"]}, ${sourceIp}`
      : sourceIp;
    headers["x-forwarded-port"] = String(req.socket.localPort ?? "");
    headers["x-forwarded-proto"] = "http";
    headers["x-amzn-trace-id"] ??=
      `Root=1-${Math.floor(started.getTime() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;

    let authorizer: JwtAuthorizerContext | undefined;
    if (!route.public) {
      const decision = await options.authorizer(headers.authorization, route.scopes);
      if (!decision.ok)
        return [
          gatewayError(decision.statusCode, [["www-authenticate", decision.wwwAuthenticate]]),
          routeKey,
        ];
      authorizer = decision.authorizer;
    }

    let bodyBytes: Buffer;
    try {
      bodyBytes = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return [gatewayError(413), routeKey];
      throw error;
    }

    const query = new URLSearchParams(rawQueryString);
    const queryStringParameters: Record<string, string> = {};
    for (const [key, value] of query) {
      queryStringParameters[key] =
        queryStringParameters[key] === undefined ? value : `${queryStringParameters[key]},${value}`;
    }
    const isText = isTextContentType(headers["content-type"]);
    const domainName = headers.host ?? "localhost";

    const event: LocalApiEvent = {
      version: "2.0",
      routeKey,
      rawPath,
      rawQueryString,
      ...(cookies.length > 0 ? { cookies } : {}),
      headers,
      ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
      ...(Object.keys(match.params).length > 0 ? { pathParameters: match.params } : {}),
      requestContext: {
        accountId: LOCAL_ACCOUNT_ID,
        apiId: "local",
        domainName,
        domainPrefix: domainName.split(".")[0] ?? domainName,
        http: {
          method,
          path: rawPath,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp,
          userAgent: headers["user-agent"] ?? "",
        },
        requestId,
        routeKey,
        stage: "$default",
        time: apiGatewayTime(started),
        timeEpoch: started.getTime(),
        ...(authorizer ? { authorizer } : {}),
      },
      ...(bodyBytes.length > 0
        ? { body: isText ? bodyBytes.toString("utf8") : bodyBytes.toString("base64") }
        : {}),
      isBase64Encoded: bodyBytes.length > 0 && !isText,
    };

    let result: unknown;
    try {
      const handler = await handlerFor(route.entry);
      const context = createLambdaContext({
        functionName: `local-${route.id}`,
        timeoutMs: integrationTimeoutMs,
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((done) => {
        timer = setTimeout(() => done("timeout"), integrationTimeoutMs);
      });
      result = await Promise.race([Promise.resolve(handler(event, context)), timedOut]).finally(() =>
        clearTimeout(timer),
      );
      if (result === "timeout") {
        log(`${requestId} ${routeKey}: integration timed out after ${integrationTimeoutMs} ms`);
        return [gatewayError(503), routeKey];
      }
    } catch (error) {
      // As in AWS, a failed invocation is API Gateway's 500; only the error's name and message are logged.
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      log(`${requestId} ${routeKey}: handler failed: ${name}: ${message}`);
      return [gatewayError(500), routeKey];
    }
    const mapped = toHttpAnswer(result);
    if (!mapped) {
      log(`${requestId} ${routeKey}: handler returned a malformed v2 response`);
      return [gatewayError(500), routeKey];
    }
    return [mapped, routeKey];
  }

  const server = createServer((req, res) => {
    const started = new Date();
    // API Gateway request ids look like "Mc7UVioPPHcEKPA=".
    const requestId = randomBytes(10).toString("base64");
    answer(req, requestId, started)
      .catch((error: unknown) => {
        log(
          `${requestId}: local API server error: ${error instanceof Error ? error.message : String(error)}`,
        );
        return [gatewayError(500), "-"] as [HttpAnswer, string];
      })
      .then(([httpAnswer, routeKey]) => {
        // A request whose body we refused to read cannot keep its connection.
        if (httpAnswer.statusCode === 413) res.setHeader("connection", "close");
        send(res, httpAnswer, requestId);
        log(`${requestId} ${routeKey} ${httpAnswer.statusCode} ${Date.now() - started.getTime()}ms`);
      });
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

// A local stand-in for API Gateway's HTTP API: matches routes like it does (routing.ts), runs the JWT
// authorizer (jwt.ts), builds payload format 2.0 events (event.ts), calls the same handler modules the
// Lambdas run and maps their v2 responses back to HTTP, including API Gateway's own error answers
// (invoke.ts). The handlers cannot tell it from AWS. This file is the HTTP server that composes them.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { capture } from "../capture";
import { applyCors, type CorsPolicy } from "./cors";
import { BodyTooLargeError, buildEvent, readBody, readRequestHead } from "./event";
import { createInvoker, gatewayError, type HttpAnswer, importHandler, type LambdaHandler } from "./invoke";
import type { JwtAuthorizer, JwtAuthorizerContext } from "./jwt";
import { createRouter, type LocalRoute } from "./routing";
import type { DevSite } from "./site";

export type { LocalApiEvent } from "./event";
export { toHttpAnswer } from "./invoke";
export type { LocalRoute } from "./routing";

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
  /** API Gateway's CORS (`corsPreflight`); default none, as deployed without CDK context `corsOrigins`. */
  cors?: CorsPolicy;
  /** Development pages beside the API (`npm start`: the example app, /docs, /dev/token); never deployed. */
  site?: DevSite;
}

export interface ApiServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TEN_MB = 10 * 1024 * 1024;

function send(res: ServerResponse, answer: HttpAnswer, requestId: string): void {
  const headers = new Map<string, string[]>();
  for (const [name, value] of answer.headers) headers.set(name, [...(headers.get(name) ?? []), value]);
  headers.set("apigw-requestid", [requestId]);
  headers.set("content-length", [String(answer.body.length)]);
  for (const [name, values] of headers) res.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
  res.writeHead(answer.statusCode);
  res.end(answer.body);
  // The API's answers (not the example app's static files) go to the secrets scan when it records.
  if (answer.body.length < 256 * 1024) {
    capture(
      "response",
      String(answer.statusCode),
      JSON.stringify({ headers: answer.headers, body: `${answer.body}` }),
    );
  }
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const route = createRouter(options.routes);
  const maxBodyBytes = options.maxBodyBytes ?? TEN_MB;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? 30_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const invoke = createInvoker({
    load: options.loadHandler ?? importHandler(options.rootDir ?? REPO_ROOT),
    integrationTimeoutMs,
    log,
  });

  /** API Gateway's steps in its order: route, authorize, read the body, invoke. Answers with the route key. */
  async function answer(
    req: IncomingMessage,
    requestId: string,
    started: Date,
  ): Promise<[HttpAnswer, string]> {
    const head = readRequestHead(req, started);
    const match = route(head.method, head.rawPath);
    if (!match) return [gatewayError(404), "-"];
    const { routeKey } = match;

    let authorizer: JwtAuthorizerContext | undefined;
    if (!match.route.public) {
      const decision = await options.authorizer(head.headers.authorization, match.route.scopes);
      if (!decision.ok)
        return [
          gatewayError(decision.statusCode, [["www-authenticate", decision.wwwAuthenticate]]),
          routeKey,
        ];
      authorizer = decision.authorizer;
    }

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return [gatewayError(413), routeKey];
      throw error;
    }

    const event = buildEvent({
      head,
      match,
      httpVersion: req.httpVersion,
      authorizer,
      body,
      requestId,
      started,
    });
    return [await invoke(match.route, routeKey, event), routeKey];
  }

  const server = createServer((req, res) => {
    const started = new Date();
    // API Gateway request ids look like "Mc7UVioPPHcEKPA=".
    const requestId = randomBytes(10).toString("base64");
    if (options.cors && applyCors(options.cors, req, res)) {
      log(`${requestId} OPTIONS (CORS preflight) 204 ${Date.now() - started.getTime()}ms`);
      return;
    }
    const site = options.site;
    (site ? site(req, res) : Promise.resolve(false))
      .catch((error: unknown) => {
        log(`${requestId}: local page error: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) send(res, gatewayError(500), requestId);
        return true;
      })
      .then((handled) => {
        if (!handled) serveApi(req, res, requestId, started);
      });
  });

  function serveApi(req: IncomingMessage, res: ServerResponse, requestId: string, started: Date): void {
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
  }

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

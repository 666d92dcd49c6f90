// The HTTP server: body limit → (OAuth pages) | faults → auth → Accept → route → handler → JSON.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { checkAccept, checkBasicAuth } from "./auth";
import { errorBody, MxHttpError, notFound, payloadTooLarge } from "./errors";
import { dropMidBody, injectFaults } from "./faults";
import { MX_MEDIA_TYPE } from "./http";
import { handleOauthPage } from "./oauth";
import { matchRoute } from "./routes";
import type { SandboxState } from "./state";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerConfig {
  state: SandboxState;
  clientId: string;
  apiKey: string;
  /** Filled in once the server listens (the port may be ephemeral). */
  baseUrl: () => string;
}

/** Reads the body up to the limit; resolves `undefined` when it is larger (the rest is drained). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (status === 204) {
    res.writeHead(204, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      "Content-Type": `${MX_MEDIA_TYPE}; charset=utf-8`,
      "Content-Length": Buffer.byteLength(text),
      ...headers,
    })
    .end(text);
}

async function handle(config: ServerConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { state } = config;
  const url = new URL(req.url ?? "/", "http://sandbox.invalid");
  const method = req.method ?? "GET";
  const raw = await readBody(req);
  const now = state.now();

  if (url.pathname.startsWith("/oauth/")) {
    const reply =
      method === "GET"
        ? handleOauthPage(state, url.pathname, config.baseUrl(), now)
        : { status: 405, html: "<!doctype html><p>Method not allowed.</p>" };
    const headers: Record<string, string> = { "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" };
    if (reply.location) headers.Location = reply.location;
    if (reply.html) headers["Content-Type"] = "text/html; charset=utf-8";
    res.writeHead(reply.status, headers).end(reply.html ?? "");
    return;
  }

  // Per route, whatever the answer (faults and auth failures included): tests count calls such as aggregate.
  const routeKey = `${method} ${matchRoute(method, url.pathname)?.route.template ?? "(unknown)"}`;
  state.stats.byRoute[routeKey] = (state.stats.byRoute[routeKey] ?? 0) + 1;

  try {
    if (raw === undefined) throw payloadTooLarge(MAX_BODY_BYTES);
    const { dropAnswer } = await injectFaults(state);
    checkBasicAuth(req, config.clientId, config.apiKey);
    checkAccept(req);
    const match = matchRoute(method, url.pathname);
    if (!match) throw notFound("path");
    const reply = match.route.handle({
      state,
      params: match.params,
      query: url.searchParams,
      rawBody: raw,
      contentType: req.headers["content-type"],
      now,
      baseUrl: config.baseUrl(),
    });
    if (dropAnswer) dropMidBody(res, reply.status, reply.body);
    else sendJson(res, reply.status, reply.body);
  } catch (error) {
    if (error instanceof MxHttpError) {
      sendJson(res, error.status, errorBody(error.message), error.headers);
      return;
    }
    // A bug in the sandbox, not the caller's fault: say so without echoing anything from the request.
    console.error("MX sandbox: unexpected error", error instanceof Error ? error.stack : error);
    sendJson(res, 500, errorBody("Unexpected sandbox error."));
  }
}

export function createSandboxServer(config: ServerConfig): Server {
  const { state } = config;
  const server = createServer((req, res) => {
    state.stats.requests += 1;
    res.on("finish", () => {
      state.stats.byStatus[res.statusCode] = (state.stats.byStatus[res.statusCode] ?? 0) + 1;
    });
    handle(config, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 400, errorBody("The request could not be read."));
      else res.destroy();
    });
  });
  // Requests Node cannot even parse still get an MX-like JSON 400 rather than a bare one.
  server.on("clientError", (_error, socket) => {
    if (!socket.writable) return;
    const text = JSON.stringify(errorBody("The request is not valid HTTP."));
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: ${MX_MEDIA_TYPE}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  });
  return server;
}

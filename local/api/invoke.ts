// Invoking a route's handler as Lambda behind API Gateway: the module imported once (a warm Lambda), a
// Lambda-like context, HTTP API's integration timeout, and the v2 result mapped back to HTTP, with API
// Gateway's own answers (500, 503, …) where it would give them instead of the function's.
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { createLambdaContext } from "../lambda-context";
import type { LocalApiEvent } from "./event";
import type { LocalRoute } from "./routing";

export type LambdaHandler = (event: LocalApiEvent, context: Context) => unknown;

export interface HttpAnswer {
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
}

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

export function gatewayError(
  status: keyof typeof GATEWAY_ERRORS,
  extra: [string, string][] = [],
): HttpAnswer {
  return {
    statusCode: status,
    headers: [["content-type", "application/json"], ...extra],
    body: Buffer.from(JSON.stringify({ message: GATEWAY_ERRORS[status] })),
  };
}

const structuredResultSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  cookies: z.array(z.string()).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

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

/** Imports an entry's module (relative to `rootDir` unless absolute) and returns its `handler`. */
export function importHandler(rootDir: string): (entry: string) => Promise<LambdaHandler> {
  return async (entry) => {
    const file = isAbsolute(entry) ? entry : resolve(rootDir, entry);
    const mod = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { handler?: unknown };
    if (typeof mod.handler !== "function") throw new Error(`${entry} does not export a handler function`);
    return mod.handler as LambdaHandler;
  };
}

export interface InvokerOptions {
  load: (entry: string) => Promise<LambdaHandler>;
  integrationTimeoutMs: number;
  log: (line: string) => void;
}

/** Runs a route's handler with an event and answers what API Gateway would send back. */
export function createInvoker(
  options: InvokerOptions,
): (route: LocalRoute, routeKey: string, event: LocalApiEvent) => Promise<HttpAnswer> {
  const { load, integrationTimeoutMs, log } = options;
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

  return async (route, routeKey, event) => {
    const { requestId } = event.requestContext;
    let result: unknown;
    try {
      const handler = await handlerFor(route.entry);
      // The function's own timeout, when shorter than the integration's, ends the invocation first: Lambda
      // reports a failed invocation, which API Gateway answers 500.
      const functionTimeoutMs = Math.min(integrationTimeoutMs, (route.timeoutSeconds ?? Infinity) * 1000);
      const context = createLambdaContext({
        functionName: `local-${route.id}`,
        timeoutMs: functionTimeoutMs,
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((done) => {
        timer = setTimeout(() => done("timeout"), functionTimeoutMs);
      });
      result = await Promise.race([Promise.resolve(handler(event, context)), timedOut]).finally(() =>
        clearTimeout(timer),
      );
      if (result === "timeout" && functionTimeoutMs < integrationTimeoutMs) {
        log(`${requestId} ${routeKey}: the function timed out after ${functionTimeoutMs} ms`);
        return gatewayError(500);
      }
      if (result === "timeout") {
        log(`${requestId} ${routeKey}: integration timed out after ${integrationTimeoutMs} ms`);
        return gatewayError(503);
      }
    } catch (error) {
      // As in AWS, a failed invocation is API Gateway's 500; only the error's name and message are logged.
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      log(`${requestId} ${routeKey}: handler failed: ${name}: ${message}`);
      return gatewayError(500);
    }
    const mapped = toHttpAnswer(result);
    if (!mapped) {
      log(`${requestId} ${routeKey}: handler returned a malformed v2 response`);
      return gatewayError(500);
    }
    return mapped;
  };
}

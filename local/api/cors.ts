// API Gateway HTTP API's CORS, as it behaves once `corsPreflight` is configured: it answers every preflight
// itself (204, whatever the route, before the authorizer), and adds the allow-origin header to the answers
// of an allowed origin. An origin that is not allowed gets no CORS header, so the browser refuses the read.
import type { IncomingMessage, ServerResponse } from "node:http";
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS } from "../../shared/api/cors";

export interface CorsPolicy {
  /** Exact origins, e.g. "http://localhost:5173"; empty: CORS off (API Gateway's default). */
  allowOrigins: readonly string[];
}

/**
 * Sets the CORS headers on `res` for this request; answers a preflight and returns true when it was one
 * (nothing else must be sent then).
 */
export function applyCors(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  if (policy.allowOrigins.length === 0) return false;
  const origin = req.headers.origin;
  const allowed = origin !== undefined && policy.allowOrigins.includes(origin);
  res.setHeader("vary", "origin");
  if (allowed) res.setHeader("access-control-allow-origin", origin);
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  if (!preflight) return false;
  if (allowed) {
    res.setHeader("access-control-allow-methods", CORS_ALLOW_METHODS.join(","));
    res.setHeader("access-control-allow-headers", CORS_ALLOW_HEADERS.join(","));
    res.setHeader("access-control-max-age", String(CORS_MAX_AGE_SECONDS));
  }
  res.writeHead(204, { "content-length": "0" });
  res.end();
  return true;
}

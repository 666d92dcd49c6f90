// HTTP basic auth (client_id:api_key) and MX's versioned Accept header.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { notAcceptable, unauthorized } from "./errors";
import { MX_MEDIA_TYPE } from "./http";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time comparison of the whole `client_id:api_key` pair. */
export function checkBasicAuth(req: IncomingMessage, clientId: string, apiKey: string): void {
  const header = req.headers.authorization ?? "";
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const given = match?.[1] ? Buffer.from(match[1], "base64").toString("utf8") : "";
  if (!timingSafeEqual(digest(given), digest(`${clientId}:${apiKey}`))) throw unauthorized();
}

export function checkAccept(req: IncomingMessage): void {
  const accept = (req.headers.accept ?? "").toLowerCase();
  const types = accept.split(",").map((t) => t.split(";")[0]?.trim());
  if (!types.includes(MX_MEDIA_TYPE)) throw notAcceptable();
}

// Request/response plumbing shared by the API routes: JSON replies, body parsing at the edge with zod.
import type * as z from "zod";
import { badRequest, unprocessable, unsupportedMediaType } from "./errors";
import type { SandboxState } from "./state";

export const MX_MEDIA_TYPE = "application/vnd.mx.api.v1+json";

export interface ApiRequest {
  state: SandboxState;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Raw body bytes (already size-limited). */
  rawBody: Buffer;
  contentType: string | undefined;
  now: number;
  baseUrl: string;
}

export interface ApiReply {
  status: number;
  body?: unknown;
}

export const ok = (body: unknown): ApiReply => ({ status: 200, body });
export const accepted = (body: unknown): ApiReply => ({ status: 202, body });
export const noContent = (): ApiReply => ({ status: 204 });

/** Parses the body as a JSON object: 415 for another media type, 400 for empty/malformed/non-object. */
export function jsonObjectBody(req: ApiRequest): Record<string, unknown> {
  const type = (req.contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (req.rawBody.length === 0) throw badRequest("A JSON request body is required.");
  if (type !== "application/json" && !type.endsWith("+json")) throw unsupportedMediaType();
  let value: unknown;
  try {
    value = JSON.parse(req.rawBody.toString("utf8"));
  } catch {
    throw badRequest("The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

/** The wrapped object (`{"user":{…}}` → the user); 400 when absent or not an object. */
export function wrapped(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`Missing parameter: ${key} (an object).`);
  }
  return value as Record<string, unknown>;
}

/** Validates with zod; 422 naming the fields (never their values, which may be credentials). */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => [where, ...i.path].join(".")))];
  throw unprocessable(`Invalid parameter${fields.length > 1 ? "s" : ""}: ${fields.join(", ")}.`);
}

export function requireField(obj: Record<string, unknown>, key: string, where: string): void {
  if (obj[key] === undefined || obj[key] === null) throw badRequest(`Missing parameter: ${where}.${key}.`);
}

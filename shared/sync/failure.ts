// What a failed task left in the run (a Catch's `{Error, Cause}`), made safe to store and show: the
// error message only (no stack trace), with anything that looks like a credential or token removed,
// trimmed to a short line.
import * as z from "zod";

const MAX_MESSAGE = 300;

/** Lambda's error Cause: `{"errorType","errorMessage","trace"}` as a JSON string. */
const lambdaCauseSchema = z.object({ errorMessage: z.string() });

const SCRUBBERS: [RegExp, string][] = [
  // Authorization header values.
  [/\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]+/gi, "$1 [redacted]"],
  // user:password@ in URLs.
  [/\/\/[^/\s:@]+:[^/\s@]+@/g, "//[redacted]@"],
  // Query strings: they may carry tokens or dates of a user; paths are enough to diagnose.
  [/(\/[\w.~%/-]*)\?[^\s"']*/g, "$1"],
  // key=value or "key": "value" pairs whose key says secret.
  [
    /\b(api[_-]?key|client[_-]?secret|secret|password|passwd|token|task[_-]?token|answer|value|credentials?)\b(["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;}]+)/gi,
    "$1$2[redacted]",
  ],
  // Long opaque strings (task tokens, keys, JWTs): MX guids are shorter than this.
  [/[A-Za-z0-9+/=._-]{48,}/g, "[redacted]"],
];

export function scrub(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SCRUBBERS) out = out.replace(pattern, replacement);
  out = out.replace(/\s+/g, " ").trim();
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}

export interface StoredFailure {
  name: string;
  message?: string;
}

/** The error of a Catch as stored on the member: its name and a scrubbed, trimmed message. */
export function describeFailure(error: { Error: string; Cause?: string | undefined }): StoredFailure {
  const name = scrub(error.Error).slice(0, 100) || "Error";
  if (!error.Cause) return { name };
  let message = error.Cause;
  try {
    const parsed = lambdaCauseSchema.safeParse(JSON.parse(error.Cause));
    if (parsed.success) message = parsed.data.errorMessage;
  } catch {
    // Not JSON: a plain message (States.Timeout, the local runner, …).
  }
  const scrubbed = scrub(message);
  return scrubbed ? { name, message: scrubbed } : { name };
}

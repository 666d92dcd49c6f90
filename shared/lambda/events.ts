// Parsing a Lambda's event at the edge: one zod schema per event, one clear error when it does not fit.
import type * as z from "zod";

/** The event does not match its schema. Its message names the fields, never their values. */
export class InvalidEventError extends Error {
  override name = "InvalidEventError";
}

export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, what = "event"): z.output<S> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`);
  throw new InvalidEventError(`Invalid ${what}: ${problems.join("; ")}`);
}

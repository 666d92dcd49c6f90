// Errors the use cases throw when a request cannot be served as asked. They know nothing of HTTP: the
// API's one error handler (shared/api/http.ts, `errorResponse`) maps each to its status and code, and a
// workflow task would report it by name. Messages are written for the app's developer: safe to show.

/** The member does not exist, or belongs to another user: both read the same, so no guid leaks. */
export class MemberNotFoundError extends Error {
  override name = "MemberNotFoundError";
  constructor(message = "Member not found.") {
    super(message);
  }
}

/** Nothing waits for an MFA answer (never asked, already answered, or the wait expired). */
export class NoChallengeError extends Error {
  override name = "NoChallengeError";
  constructor(message = "No security question is waiting for an answer.") {
    super(message);
  }
}

/** The request is well formed but cannot be acted on (answers that do not fit the prompts, …). */
export class UnprocessableRequestError extends Error {
  override name = "UnprocessableRequestError";
}

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

/**
 * A changes-feed cursor that cannot be honoured: not one this API issued for this view ("invalid"), another
 * user's ("foreign"), or older than the change log keeps ("expired": the app must start again, without one).
 */
export class ChangesCursorError extends Error {
  override name = "ChangesCursorError";
  constructor(readonly reason: "invalid" | "foreign" | "expired") {
    super(
      reason === "expired"
        ? "The cursor is older than the changes kept. Start again without a cursor, from an empty copy."
        : reason === "foreign"
          ? "The cursor was issued to another user."
          : "query.cursor: is not a next_cursor this API issued for this view (same member_guid and account_guid).",
    );
  }
}

/** The request is well formed but cannot be acted on (answers that do not fit the prompts, …). */
export class UnprocessableRequestError extends Error {
  override name = "UnprocessableRequestError";
}

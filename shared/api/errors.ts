// Typed errors the API's use cases throw. The shared error handler (http.ts, `errorResponse`) maps each to
// its HTTP status and `{"error":{"code","message"}}` body, and the domain errors of shared/domain/errors.ts
// to these; anything else becomes a bare 500.

export type ApiErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "create_in_progress"
  | "no_challenge"
  | "unprocessable"
  | CreateMemberRefusal
  | "invalid_cursor"
  | "cursor_forbidden"
  | "cursor_expired"
  | "upstream_error"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "internal_error";

/** An error whose message is written for the client: safe to send as is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string) {
    super(400, "invalid_request", message);
    this.name = "BadRequestError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = "A signed-in user is required.") {
    super(401, "unauthorized", message);
    this.name = "UnauthorizedError";
  }
}

/**
 * A token API Gateway's JWT authorizer let through whose `sub` is no user id this API accepts. Answered
 * exactly as the authorizer refuses a token (`{"message":"Unauthorized"}` and `WWW-Authenticate`), so an
 * app sees one 401 whoever refused it.
 */
export class TokenRefusedError extends Error {
  constructor(readonly description = "the token's sub is not a valid user id") {
    super(description);
    this.name = "TokenRefusedError";
  }
}

/** Missing and not-yours answer the same, so a guid's existence never leaks across users. */
export class NotFoundError extends ApiError {
  constructor(message = "Not found.") {
    super(404, "not_found", message);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends ApiError {
  constructor(code: "conflict" | "no_challenge", message: string) {
    super(409, code, message);
    this.name = "ConflictError";
  }
}

/** Why MX refused a new member, each its own code so an app can tell the user what to fix. */
export const CREATE_MEMBER_REFUSALS = [
  "unknown_institution",
  "credentials_missing",
  "credential_unknown",
  "oauth_not_supported",
  "oauth_required",
] as const;
export type CreateMemberRefusal = (typeof CREATE_MEMBER_REFUSALS)[number];

export class UnprocessableError extends ApiError {
  constructor(message: string, code: "unprocessable" | CreateMemberRefusal = "unprocessable") {
    super(422, code, message);
    this.name = "UnprocessableError";
  }
}

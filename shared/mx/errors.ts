// Typed MX errors. Each class's `name` is its class name on purpose: the sync workflow's Retry
// rules match on it (Lambda reports a thrown error's `name` as the Step Functions error name).
// Messages are safe to log: method, path (no query string), status; never the Authorization
// header, a request body (bank credentials, MFA answers) or a response body.

export interface MxErrorDetails {
  method: string;
  /** The request path without its query string, e.g. `/users/USR-1/members`. */
  path: string;
  /** HTTP status, when MX answered. */
  status?: number;
  /** MX's parsed error body (opaque JSON; undocumented shape), when there was one. */
  body?: unknown;
  /** What MX's Retry-After asked for, in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class MxError extends Error {
  override name = "MxError";
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly body: unknown;
  /** What MX's Retry-After asked for, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: MxErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.body = details.body;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** Worth trying again later (rate limited, unavailable, timeout, network); see isTransientMxError. */
  get retryable(): boolean {
    return false;
  }
}

/** 400 or 422: the request was wrong; repeating it will not help. */
export class MxBadRequestError extends MxError {
  override name = "MxBadRequestError";
}
/** 401 or 403: our API credentials are wrong or not allowed to do this. */
export class MxUnauthorizedError extends MxError {
  override name = "MxUnauthorizedError";
}
export class MxNotFoundError extends MxError {
  override name = "MxNotFoundError";
}
/** 409: a duplicate (same member again) or another job already running on the member. */
export class MxConflictError extends MxError {
  override name = "MxConflictError";
}
/**
 * 405: MX refused because a constraint was not met, e.g. `resume` on a member that is no longer
 * CHALLENGED (the challenge expired, or was answered elsewhere).
 */
export class MxNotAllowedError extends MxError {
  override name = "MxNotAllowedError";
}
/** 429 after the client's own retries. */
export class MxRateLimitedError extends MxError {
  override name = "MxRateLimitedError";
  override get retryable(): boolean {
    return true;
  }
}
/** 5xx after the client's own retries. */
export class MxUnavailableError extends MxError {
  override name = "MxUnavailableError";
  override get retryable(): boolean {
    return true;
  }
}
/** No complete answer within the per-request timeout. */
export class MxTimeoutError extends MxError {
  override name = "MxTimeoutError";
  override get retryable(): boolean {
    return true;
  }
}
/**
 * The call's time budget ran out (the invocation's remaining time, less what it keeps for itself): the
 * attempt in flight was cut short, or no retry could start and still end in time. `lastError` is the last
 * attempt's failure, if there was one (its status and Retry-After are copied here).
 */
export class MxDeadlineError extends MxError {
  override name = "MxDeadlineError";
  readonly lastError: MxError | undefined;
  constructor(message: string, details: MxErrorDetails & { lastError?: MxError }) {
    super(message, { ...details, cause: details.cause ?? details.lastError });
    this.lastError = details.lastError;
  }
  override get retryable(): boolean {
    return true;
  }
}
/** The connection failed (refused, reset, DNS). */
export class MxNetworkError extends MxError {
  override name = "MxNetworkError";
  /** The connection was never established (refused, DNS): MX cannot have seen the request. */
  readonly connectFailed: boolean;
  constructor(message: string, details: MxErrorDetails & { connectFailed?: boolean }) {
    super(message, details);
    this.connectFailed = details.connectFailed ?? false;
  }
  override get retryable(): boolean {
    return true;
  }
}
/** MX answered with something we cannot use: an unexpected status or a body that fails our schema. */
export class MxResponseError extends MxError {
  override name = "MxResponseError";
}

/** The typed error for an HTTP error status. */
export function errorForStatus(
  status: number,
  details: Omit<MxErrorDetails, "status">,
  retryAfterMs?: number,
): MxError {
  const message = `MX ${details.method} ${details.path} answered ${status}`;
  const all = retryAfterMs === undefined ? { ...details, status } : { ...details, status, retryAfterMs };
  if (status === 400 || status === 422) return new MxBadRequestError(message, all);
  if (status === 401 || status === 403) return new MxUnauthorizedError(message, all);
  if (status === 404) return new MxNotFoundError(message, all);
  if (status === 405) return new MxNotAllowedError(message, all);
  if (status === 409) return new MxConflictError(message, all);
  if (status === 429) return new MxRateLimitedError(message, all);
  if (status >= 500) return new MxUnavailableError(message, all);
  return new MxResponseError(message, all);
}

/** Errors worth trying again later: rate limiting, MX unavailable, timeouts, an exhausted budget, network failures. */
export function isTransientMxError(error: unknown): error is MxError {
  return error instanceof MxError && error.retryable;
}

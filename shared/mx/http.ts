// HTTP transport for the MX Platform API: auth and version headers, per-attempt timeout,
// typed errors, response validation, and retries with capped exponential backoff and full
// jitter (honouring Retry-After) for the calls that are safe to repeat, all within the caller's
// time budget when it gives one.
import type * as z from "zod";
import {
  errorForStatus,
  MxDeadlineError,
  MxError,
  MxNetworkError,
  MxResponseError,
  MxTimeoutError,
} from "./errors";

export const MX_ACCEPT = "application/vnd.mx.api.v1+json";

export interface MxResponseInfo {
  method: string;
  /** The request path without query string, e.g. `/users/USR-1/members`. */
  path: string;
  /** The spec's path template, e.g. `/users/{user_guid}/members` (for contract checks). */
  pathTemplate: string;
  status: number;
  /** Parsed JSON body, or undefined when empty or not JSON. */
  body: unknown;
}

export interface MxTransportOptions {
  baseUrl: string;
  credentials: { clientId: string; apiKey: string };
  /** Per attempt, covering the response body too. Default 10 000. */
  timeoutMs?: number;
  /** Retries after the first attempt, for calls safe to repeat. Default 4. */
  retries?: number;
  /** Backoff base: attempt n waits up to baseDelayMs·2ⁿ (full jitter). Default 200. */
  baseDelayMs?: number;
  /** Cap for every wait, Retry-After included. Default 8 000. */
  maxDelayMs?: number;
  /**
   * A 429 without Retry-After (MX documents none) waits between half and all of rateLimitDelayMs·2ⁿ
   * (capped): a real pause, as MX asks, not the few milliseconds full jitter may draw. Default 1 000.
   */
  rateLimitDelayMs?: number;
  fetch?: typeof fetch;
  /** Sees every HTTP response the client receives (retried ones too); for contract tests. */
  onResponse?: (info: MxResponseInfo) => void;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The time left for this client's calls, in ms, read before every attempt and every wait: in a Lambda,
   * its remaining time less what it keeps for itself (`mxBudget`, shared/mx/budget.ts). Each attempt's
   * timeout is the smaller of `timeoutMs` and this; a retry whose wait would not leave `minAttemptMs` is
   * not made; running out throws `MxDeadlineError`. Absent: no budget (retries bounded by `retries` only).
   */
  remainingMs?: () => number;
  /** No attempt starts with less time left than this: it could hardly get an answer. Default 1 000. */
  minAttemptMs?: number;
}

/**
 * - `repeatable`: retry on 429, 5xx, timeouts and network errors (GET, DELETE, aggregate, identify).
 * - `unsent-only`: retry only when MX provably did not act on the request: 429, or a connection
 *   that was never established (used for resume: re-sending an MFA answer MX already took could
 *   count as a second attempt at the bank).
 * - `none`: never (the caller has its own recovery, e.g. create-or-find).
 */
export type RetryPolicy = "repeatable" | "unsent-only" | "none";

export interface MxRequest<T> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  pathTemplate: string;
  pathParams?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Validates a 2xx body. Without one, the body is ignored. */
  schema?: z.ZodType<T>;
  /** A 2xx with no body (e.g. 204) is fine: `data` is undefined. */
  allowEmpty?: boolean;
  retry: RetryPolicy;
  /** Statuses that mean success when seen after an earlier attempt may have landed (404 on a repeated DELETE). */
  okAfterRetry?: number[];
}

export interface MxResult<T> {
  status: number;
  data: T | undefined;
}

// Connection-level failures where the request never reached MX, so repeating it cannot double-apply.
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class MxTransport {
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly rateLimitDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly onResponse: ((info: MxResponseInfo) => void) | undefined;
  private readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  private readonly remainingMs: (() => number) | undefined;
  private readonly minAttemptMs: number;

  constructor(options: MxTransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const { clientId, apiKey } = options.credentials;
    this.authorization = `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString("base64")}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 8_000;
    this.rateLimitDelayMs = options.rateLimitDelayMs ?? 1_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.onResponse = options.onResponse;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
    this.remainingMs = options.remainingMs;
    this.minAttemptMs = options.minAttemptMs ?? 1_000;
  }

  /** Sends the request, retrying per its policy; resolves with the validated body or throws an MxError. */
  async send<T>(request: MxRequest<T>): Promise<MxResult<T>> {
    const where = { method: request.method, path: fillPath(request.pathTemplate, request.pathParams ?? {}) };
    let mayHaveLanded = false;
    let lastError: MxError | undefined;
    for (let attempt = 0; ; attempt++) {
      const left = this.timeLeft();
      if (left < this.minAttemptMs) throw outOfTime(where, attempt, lastError);
      const timeoutMs = Math.floor(Math.min(this.timeoutMs, left));
      try {
        return await this.sendOnce(request, mayHaveLanded, timeoutMs);
      } catch (error) {
        // Cut short by the budget, not by timeoutMs: no time is left for anything else.
        if (error instanceof MxTimeoutError && timeoutMs < this.timeoutMs) {
          throw outOfTime(where, attempt + 1, error);
        }
        if (!(error instanceof MxError) || attempt >= this.retries || !shouldRetry(error, request.retry)) {
          throw error;
        }
        mayHaveLanded ||= !isProvablyUnsent(error);
        lastError = error;
        await this.waitBeforeRetry(attempt, error, where);
      }
    }
  }

  /** Milliseconds left in the caller's budget (Infinity without one). */
  timeLeft(): number {
    return this.remainingMs ? this.remainingMs() : Number.POSITIVE_INFINITY;
  }

  /**
   * Waits before retry number `attempt + 1`, or throws MxDeadlineError (carrying `error`) when the wait
   * would not leave the budget time for that attempt.
   */
  async waitBeforeRetry(
    attempt: number,
    error: MxError,
    where: { method: string; path: string } = error,
  ): Promise<void> {
    const delay = this.delayBeforeRetry(attempt, error);
    if (delay + this.minAttemptMs > this.timeLeft()) throw outOfTime(where, attempt + 1, error);
    await this.sleep(delay);
  }

  /**
   * Wait before retry number `attempt + 1`: MX's Retry-After when it sent one; for a 429 without one, a
   * pause of at least half of rateLimitDelayMs·2^attempt; else full jitter over baseDelayMs·2^attempt.
   * Always capped at maxDelayMs.
   */
  delayBeforeRetry(attempt: number, error?: MxError): number {
    if (error?.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, this.maxDelayMs);
    if (error?.status === 429) {
      const ceiling = Math.min(this.maxDelayMs, this.rateLimitDelayMs * 2 ** attempt);
      return Math.floor(ceiling / 2 + (this.random() * ceiling) / 2);
    }
    return backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs, this.random);
  }

  private async sendOnce<T>(
    request: MxRequest<T>,
    mayHaveLanded: boolean,
    timeoutMs: number,
  ): Promise<MxResult<T>> {
    const { method, pathTemplate } = request;
    const path = fillPath(pathTemplate, request.pathParams ?? {});
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { Authorization: this.authorization, Accept: MX_ACCEPT };
    if (request.body !== undefined) headers["Content-Type"] = "application/json";
    const where = { method, path };
    const signal = AbortSignal.timeout(timeoutMs);

    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await this.fetchImpl(url, {
        method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal,
        // MX does not redirect; a redirect would be a misconfigured base URL, so report it, do not follow it.
        redirect: "manual",
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      text = await response.text();
    } catch (error) {
      throw transportError(error, signal, where);
    }

    const body = parseJson(text);
    this.onResponse?.({ method, path, pathTemplate, status, body: body.ok ? body.value : undefined });

    if (status < 200 || status >= 300) {
      if (mayHaveLanded && request.okAfterRetry?.includes(status)) return { status, data: undefined };
      throw errorForStatus(
        status,
        { ...where, body: body.ok ? body.value : undefined },
        parseRetryAfter(retryAfter, Date.now()),
      );
    }
    if (!body.ok) {
      throw new MxResponseError(`MX ${method} ${path} answered ${status} with a body that is not JSON`, {
        ...where,
        status,
      });
    }
    if (body.value === undefined) {
      if (request.allowEmpty || !request.schema) return { status, data: undefined };
      throw new MxResponseError(`MX ${method} ${path} answered ${status} with an empty body`, {
        ...where,
        status,
      });
    }
    if (!request.schema) return { status, data: undefined };
    const parsed = request.schema.safeParse(body.value);
    if (!parsed.success) {
      // Issue paths and codes only: values may be bank data.
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.code}`)
        .join("; ");
      throw new MxResponseError(
        `MX ${method} ${path} answered ${status} with an unexpected body (${issues})`,
        {
          ...where,
          status,
          body: body.value,
        },
      );
    }
    return { status, data: parsed.data };
  }
}

/** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs·2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The budget ran out after `attempts` attempts; `lastError` is how the last one failed. */
function outOfTime(
  where: { method: string; path: string },
  attempts: number,
  lastError: MxError | undefined,
): MxDeadlineError {
  const last = lastError
    ? `; the last: ${lastError.name}${lastError.status ? ` ${lastError.status}` : ""}`
    : "";
  return new MxDeadlineError(
    `MX ${where.method} ${where.path} ran out of its time budget after ${attempts} attempt(s)${last}`,
    {
      ...where,
      ...(lastError?.status === undefined ? {} : { status: lastError.status }),
      ...(lastError?.retryAfterMs === undefined ? {} : { retryAfterMs: lastError.retryAfterMs }),
      ...(lastError ? { lastError } : {}),
    },
  );
}

function shouldRetry(error: MxError, policy: RetryPolicy): boolean {
  if (policy === "none") return false;
  if (policy === "unsent-only") return isProvablyUnsent(error);
  return error.retryable;
}

function isProvablyUnsent(error: MxError): boolean {
  return error.status === 429 || (error instanceof MxNetworkError && error.connectFailed);
}

function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === "") throw new TypeError(`MX path parameter ${name} is missing`);
    return encodeURIComponent(value);
  });
}

type Parsed = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): Parsed {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function transportError(
  error: unknown,
  signal: AbortSignal,
  where: { method: string; path: string },
): MxError {
  if (signal.aborted || (error instanceof Error && error.name === "TimeoutError")) {
    return new MxTimeoutError(`MX ${where.method} ${where.path} timed out`, { ...where, cause: error });
  }
  const code = errorCode(error);
  return new MxNetworkError(`MX ${where.method} ${where.path} failed: ${code ?? "network error"}`, {
    ...where,
    cause: error,
    connectFailed: code !== undefined && NOT_SENT_CODES.has(code),
  });
}

// undici reports `TypeError: fetch failed` with the system error (or an AggregateError of them) as cause.
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}

// The middy chain every API route shares: header normalizer, body size limit, JSON body parser, zod
// parsing of path/query/body and of the caller's JWT `sub`, one error handler that turns every failure into
// `{"error":{"code","message"}}` (never a stack or an internal message), and security headers.
// Request and response bodies are never logged: they carry bank credentials and MFA answers.
import middy, { type MiddlewareObj, type MiddyfiedHandler } from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import httpSecurityHeaders from "@middy/http-security-headers";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import * as z from "zod";
import {
  ChangesCursorError,
  MemberNotFoundError,
  NoChallengeError,
  UnprocessableRequestError,
} from "../domain/errors";
import { logger, loggerContext } from "../lambda/logger";
import {
  MxDeadlineError,
  MxError,
  MxNetworkError,
  MxRateLimitedError,
  MxTimeoutError,
  MxUnavailableError,
} from "../mx/errors";
import { buildRoute, type LoadedDeps, type RouteAdapters, type RouteDeps } from "./deps";
import { ApiError, ConflictError, NotFoundError, TokenRefusedError, UnprocessableError } from "./errors";
import { MAX_BODY_BYTES } from "./limits";
import { type NeedsOf, type RouteId, routeById } from "./routes";
import { jwtContextSchema } from "./schemas";

export type HttpResult = APIGatewayProxyStructuredResultV2;

const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" };
const HTML_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  // The OAuth state sits in the callback URL: never send it on as a Referer.
  "Referrer-Policy": "no-referrer",
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorJson(
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResult {
  return json(statusCode, { error: { code, message } }, headers);
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/**
 * A small self-contained page (no scripts, no styles: the CSP forbids both). `wayBack`: a link back to the
 * app, a URL the caller vouches for (allow-listed), never one taken from the request.
 */
export function htmlPage(statusCode: number, title: string, message: string, wayBack?: string): HttpResult {
  const link = wayBack
    ? `<p><a href="${escapeHtml(wayBack)}" rel="noreferrer">Return to the app</a></p>`
    : "";
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${link}</body></html>
`;
  return { statusCode, headers: { ...HTML_HEADERS }, body };
}

export function redirect(location: string): HttpResult {
  return { statusCode: 302, headers: { ...HTML_HEADERS, Location: location }, body: "" };
}

/** "body.credentials[0].value: Too big: expected string to have <=1024 characters" */
export function describeZodError(where: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      let path = where;
      for (const key of issue.path) path += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** A request part failed its schema: 400 with which field and why. */
export class InvalidRequestError extends ApiError {
  constructor(where: string, error: z.ZodError) {
    super(400, "invalid_request", describeZodError(where, error));
    this.name = "InvalidRequestError";
  }
}

function parsePart<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequestError(where, result.error);
  return result.data;
}

/** The use cases' domain errors (shared/domain/errors.ts) as the API answers them. */
function domainToHttp(error: unknown): ApiError | undefined {
  if (error instanceof MemberNotFoundError) return new NotFoundError(error.message);
  if (error instanceof NoChallengeError) return new ConflictError("no_challenge", error.message);
  if (error instanceof UnprocessableRequestError) return new UnprocessableError(error.message);
  if (error instanceof ChangesCursorError) {
    if (error.reason === "expired") return new ApiError(410, "cursor_expired", error.message);
    if (error.reason === "foreign") return new ApiError(403, "cursor_forbidden", error.message);
    return new ApiError(400, "invalid_cursor", error.message);
  }
  return undefined;
}

/** The one place an error becomes a response. Known errors say what went wrong; the rest say nothing. */
export function errorResponse(failure: unknown): { result: HttpResult; log: "none" | "warn" | "error" } {
  // Out of time after MX was busy or down: answered as that; out of time waiting on MX: 504.
  const mx = failure instanceof MxDeadlineError ? (failure.lastError ?? failure) : failure;
  const error = domainToHttp(failure) ?? mx;
  if (error instanceof ApiError) {
    return { result: errorJson(error.status, error.code, error.message, error.headers), log: "none" };
  }
  if (error instanceof TokenRefusedError) {
    const challenge = `Bearer scope="" error="invalid_token" error_description="${error.description}"`;
    return {
      result: json(401, { message: "Unauthorized" }, { "WWW-Authenticate": challenge }),
      log: "none",
    };
  }
  if (error instanceof z.ZodError) {
    return { result: errorJson(400, "invalid_request", describeZodError("request", error)), log: "none" };
  }
  if (error instanceof MxRateLimitedError) {
    const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    return {
      result: errorJson(503, "upstream_unavailable", "The bank data provider is busy. Try again shortly.", {
        "Retry-After": String(seconds),
      }),
      log: "warn",
    };
  }
  if (error instanceof MxUnavailableError || error instanceof MxNetworkError) {
    return {
      result: errorJson(
        503,
        "upstream_unavailable",
        "The bank data provider is unavailable. Try again later.",
        error.retryAfterMs === undefined
          ? {}
          : { "Retry-After": String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) },
      ),
      log: "warn",
    };
  }
  if (error instanceof MxTimeoutError || error instanceof MxDeadlineError) {
    return {
      result: errorJson(504, "upstream_timeout", "The bank data provider did not answer in time."),
      log: "warn",
    };
  }
  if (error instanceof MxError) {
    return {
      result: errorJson(502, "upstream_error", "The bank data provider gave an unexpected answer."),
      log: "error",
    };
  }
  return { result: errorJson(500, "internal_error", "Something went wrong on our side."), log: "error" };
}

export interface RouteSpec<P, Q, B, D> {
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** How errors are answered: JSON for apps, a small page for the browser (the OAuth callback). */
  errors?: "json" | "html";
  /** Checks of the parsed input that need configuration, run before any secret is fetched. */
  check?: (input: RouteInput<P, Q, B>, deps: D) => void;
}

export interface RouteInput<P, Q, B> {
  /** The JWT `sub`; empty on public routes. */
  userId: string;
  params: P;
  query: Q;
  body: B;
  event: APIGatewayProxyEventV2;
}

type Event = APIGatewayProxyEventV2;

/** `application/json` or `application/*+json`, any case, any parameters (`Application/JSON; Charset=UTF-8`). */
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.!#$&^_-]+\+)?json$/;

/**
 * A request's JSON body, parsed; undefined when none was sent (the route's schema decides). Media types are
 * case-insensitive (RFC 9110 §8.3.1): any other type is a 415, a malformed body a 400. (Middy's parser
 * matched the type case-sensitively.)
 */
export function parseJsonBody(event: Pick<Event, "headers" | "body" | "isBase64Encoded">): unknown {
  if (event.body === undefined || event.body === "") return undefined;
  const mediaType = (event.headers?.["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The body is not valid JSON.");
  }
}

const jsonBody: MiddlewareObj<Event, HttpResult> = {
  before: ({ event }) => {
    (event as { body: unknown }).body = parseJsonBody(event);
  },
};

const bodyLimit: MiddlewareObj<Event, HttpResult> = {
  before: ({ event }) => {
    if (event.body === undefined) return;
    const bytes = event.isBase64Encoded
      ? Math.floor((event.body.length * 3) / 4)
      : Buffer.byteLength(event.body, "utf8");
    if (bytes > MAX_BODY_BYTES) {
      throw new ApiError(413, "payload_too_large", `The body must be at most ${MAX_BODY_BYTES} bytes.`);
    }
  },
};

/**
 * Drops the headers the security-headers middleware leaves undefined or empty (it clears `Server` and
 * `X-Powered-By` that way): API Gateway's payload 2.0 wants string values only.
 */
const cleanHeaders: MiddlewareObj<Event, HttpResult> = {
  after: (request) => dropEmptyHeaders(request.response),
  onError: (request) => dropEmptyHeaders(request.response),
};

function dropEmptyHeaders(response: HttpResult | null | undefined): void {
  const headers = response?.headers;
  if (!headers) return;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === "") delete headers[name];
  }
}

function errorHandler(format: "json" | "html"): MiddlewareObj<Event, HttpResult> {
  return {
    onError: (request) => {
      const { result, log } = errorResponse(request.error);
      const where = { method: request.event.requestContext?.http?.method, route: request.event.routeKey };
      // Name, status and stack only: never the event or its body.
      if (log !== "none") {
        const error = request.error;
        logger[log]("request failed", {
          ...where,
          status: result.statusCode,
          error:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : {},
        });
      }
      if (format === "html") {
        // A browser user cannot act on field names: a plain sentence instead.
        const status = result.statusCode ?? 500;
        request.response =
          status >= 500
            ? htmlPage(status, "Something went wrong", "Please try again later.")
            : htmlPage(status, "This link does not work", "This sign-in link is not valid.");
        return;
      }
      request.response = result;
    },
  };
}

/**
 * Wraps the route `routeId` of shared/api/routes.ts: parses the user id, path parameters, query and body
 * with their schemas (a failure is a 400 naming the field), adds what the route declares it needs (MX's
 * client, the signing keys, stores, Step Functions: see deps.ts) and hands it to `run` typed from that
 * declaration, and answers any error through the shared error handler. Called at module load, so the
 * configuration is checked and the clients are built once per container.
 */
export function apiHandler<
  Id extends RouteId,
  P = Record<string, never>,
  Q = Record<string, never>,
  B = undefined,
>(
  routeId: Id,
  spec: RouteSpec<P, Q, B, LoadedDeps<NeedsOf<Id>>> & RouteAdapters<NeedsOf<Id>>,
  run: (input: RouteInput<P, Q, B>, deps: RouteDeps<NeedsOf<Id>>) => Promise<HttpResult>,
): MiddyfiedHandler<Event, HttpResult, Error, Context> {
  const route = routeById(routeId);
  const isPublic = route.public === true;
  const built = buildRoute<NeedsOf<Id>>(route.needs, spec);
  // Parsed before the route's own middlewares run, so a request refused for its caller or its input (401,
  // 4xx) never fetches a secret or reaches MX.
  const users = new WeakMap<Event, string>();
  const inputs = new WeakMap<Event, RouteInput<P, Q, B>>();
  const authenticate: MiddlewareObj<Event, HttpResult, Error, Context> = {
    before: ({ event }) => {
      if (isPublic) return;
      const claims = jwtContextSchema.safeParse(event);
      if (!claims.success) throw new TokenRefusedError();
      users.set(event, claims.data.requestContext.authorizer.jwt.claims.sub);
    },
  };
  const parseInput: MiddlewareObj<Event, HttpResult, Error, Context> = {
    before: ({ event }) => {
      const params = (spec.params ? parsePart(spec.params, event.pathParameters ?? {}, "path") : {}) as P;
      const query = (
        spec.query ? parsePart(spec.query, event.queryStringParameters ?? {}, "query") : {}
      ) as Q;
      const body = (spec.body ? parsePart(spec.body, event.body, "body") : undefined) as B;
      const input = { userId: users.get(event) ?? "", params, query, body, event };
      spec.check?.(input, built.loaded);
      inputs.set(event, input);
    },
  };
  const core = async (event: Event, context: Context): Promise<HttpResult> => {
    const input = inputs.get(event);
    if (!input) throw new Error("apiHandler: the request was not parsed");
    return run(input, built.depsFrom(context));
  };
  const handler = middy<Event, HttpResult, Error, Context>(core)
    .use(loggerContext() as MiddlewareObj<Event, HttpResult, Error, Context>)
    .use(httpHeaderNormalizer())
    // after/onError run in reverse order: cleanHeaders sees the security headers' result.
    .use(cleanHeaders)
    .use(httpSecurityHeaders())
    .use(errorHandler(spec.errors ?? "json"))
    .use(authenticate);
  // Every route's body is bounded, the webhook's raw one too.
  handler.use(bodyLimit);
  if (spec.body) handler.use(jsonBody);
  handler.use(parseInput);
  for (const middleware of built.middlewares) {
    handler.use(middleware as MiddlewareObj<Event, HttpResult, Error, Context>);
  }
  return handler;
}

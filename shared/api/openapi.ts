// The Connect API's OpenAPI 3.1 description, generated from the route table (shared/api/routes.ts) and the
// very zod schemas that validate requests (schemas.ts), so the description cannot drift from the code.
import * as z from "zod";
import { CREATE_WAIT_SECONDS } from "./idempotency";
import { MAX_BODY_BYTES } from "./limits";
import { apiRoutes } from "./routes";
import * as s from "./schemas";
import { mxWebhookSchema } from "./webhooks";

interface Operation {
  summary: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  status: number;
  response?: z.ZodType;
  /** Extra error statuses this operation answers beyond the common ones. */
  errors?: number[];
  /** This operation's own wording of an error status (its codes), instead of ERROR_TEXT's. */
  errorText?: Record<number, string>;
  /** JSON Schema rules across body fields, restating the validator's (a test checks both agree). */
  bodyRules?: Record<string, unknown>;
  /** Answers a browser: a redirect or a short HTML page, errors included (the OAuth callback). */
  pages?: true;
  /** A public route's own authentication (instead of the bearer JWT), as OpenAPI security requirements. */
  security?: Record<string, string[]>[];
}

/** One entry per route id in shared/api/routes.ts (a test checks they match). */
export const operations: Record<string, Operation> = {
  SearchInstitutions: {
    summary: "Search institutions by name",
    query: s.searchInstitutionsQuerySchema,
    status: 200,
    response: s.institutionsResponseSchema,
    errors: [502, 503, 504],
  },
  ListCredentials: {
    summary: "The credential fields an institution asks for",
    params: s.institutionParamsSchema,
    status: 200,
    response: s.credentialsResponseSchema,
    errors: [404, 502, 503, 504],
  },
  CreateMember: {
    summary: "Connect a bank (credentials or OAuth)",
    description:
      "Creates the member at MX (and the MX user on first use). A credential member's sync starts at once; an " +
      "OAuth member answers `oauth_window_uri`, to open in the system browser. A retried identical request " +
      "answers the same member instead of creating a second, also when sent several times at once (they run one " +
      "after another; each OAuth answer carries a window of its own). Requests that differ only in `identify` " +
      "are the same member: `identify` stays true once asked (a sync already running keeps what it started " +
      "with; the next one reads the owners).\n\n" +
      "Send either `credentials` (every field of GET /v1/institutions/{institution_code}/credentials, with the " +
      'user\'s values) or `"is_oauth": true`, never both; `redirect_url` only with `is_oauth` (a 400 otherwise).',
    body: s.createMemberBodySchema,
    status: 202,
    response: s.createMemberResponseSchema,
    errors: [409, 413, 415, 422, 502, 503, 504],
    errorText: {
      409:
        `\`create_in_progress\`: an identical create was still running after ${CREATE_WAIT_SECONDS} s. Retry after \`Retry-After\` ` +
        "seconds: the retry answers that member.",
      422:
        "MX refused the member; `error.code` says why: `unknown_institution` (search /v1/institutions), " +
        "`credentials_missing` (a field left out; the message names it), `credential_unknown` (a guid that is not " +
        "the institution's), `oauth_not_supported` (send credentials instead), `oauth_required` (send " +
        '`"is_oauth": true` instead), or `unprocessable`.',
    },
    // credentials xor is_oauth; redirect_url only with is_oauth (createMemberBodySchema's superRefine).
    bodyRules: {
      oneOf: [
        {
          title: "OAuth",
          required: ["is_oauth"],
          properties: { is_oauth: { const: true } },
          not: { required: ["credentials"] },
        },
        {
          title: "Credentials",
          required: ["credentials"],
          properties: { is_oauth: { const: false } },
          not: { required: ["redirect_url"] },
        },
      ],
    },
  },
  ListMembers: {
    summary: "The user's members with their sync status",
    status: 200,
    response: s.membersResponseSchema,
  },
  GetMember: {
    summary: "One member with its sync status",
    params: s.memberParamsSchema,
    status: 200,
    response: s.memberResponseSchema,
    errors: [404],
  },
  GetChallenges: {
    summary: "The MFA prompts waiting for the user",
    description:
      "As MX shapes them (TEXT, OPTIONS, TOKEN, IMAGE_DATA, IMAGE_OPTIONS; options and image options carry " +
      "`label` and `value`, pictures are data: URIs). The bank may ask several rounds in a row, each with new " +
      "guids: after an answer, wait for `challenges_waiting` again. An unanswered prompt expires at MX after " +
      "about 5 minutes: the sync then ends NEEDS_USER with a reason.",
    params: s.memberParamsSchema,
    status: 200,
    response: s.challengesResponseSchema,
    errors: [404],
  },
  AnswerChallenges: {
    summary: "Answer the MFA prompts; the sync resumes",
    description:
      "One answer per waiting prompt guid: the typed text, or the `value` of the chosen option or image. " +
      "409 `no_challenge` when nothing waits any more (already answered, the sync ended or stopped waiting, or " +
      "MX expired the prompt); a late answer is not sent to MX. The member's sync status then says what happened.",
    params: s.memberParamsSchema,
    body: s.answerChallengesBodySchema,
    status: 202,
    response: s.acceptedResponseSchema,
    errors: [404, 409, 413, 415, 422, 502, 503, 504],
  },
  SyncMember: {
    summary: "Refresh the member's data now",
    description:
      "While a sync runs for the member, a second call starts nothing and answers 202 as well. 409 while " +
      "the member is being deleted.",
    params: s.memberParamsSchema,
    status: 202,
    response: s.acceptedResponseSchema,
    errors: [404, 409],
  },
  DeleteMember: {
    summary: "Delete the member at MX; its stored rows are purged in the background",
    description:
      "Marks the member deleting (no sync runs or writes from then on), stops its running sync, deletes it " +
      "at MX and answers 202 with the member, `deleting: true`. Its owners, accounts, transactions and sync " +
      "history are then deleted in the background (the changes feed reports each transaction removed); " +
      "meanwhile GET answers the member with `deleting: true`, its stored rows may still be read as they " +
      "go, and POST …/sync answers 409. Once the purge has ended the member answers 404 and `member.deleted` " +
      "is published. Repeating DELETE is safe: 202 again while it is deleting (do repeat one that failed), " +
      "404 once it is gone.",
    params: s.memberParamsSchema,
    status: 202,
    response: s.memberResponseSchema,
    errors: [404, 502, 503, 504],
  },
  ListOwners: {
    summary: "The member's account owners (stored data)",
    params: s.memberParamsSchema,
    status: 200,
    response: s.ownersResponseSchema,
    errors: [404],
  },
  ListAccounts: {
    summary: "The user's accounts (stored data)",
    status: 200,
    response: s.accountsResponseSchema,
  },
  ListTransactions: {
    summary: "An account's transactions, newest first (stored data)",
    params: s.accountParamsSchema,
    query: s.listTransactionsQuerySchema,
    status: 200,
    response: s.transactionsResponseSchema,
    errors: [404],
  },
  TransactionsSync: {
    summary: "What changed in the user's transactions since your cursor (added, modified, removed)",
    description:
      "Keeps an exact copy of the user's transactions without reading every page again. Start without a " +
      "cursor from an empty copy; apply each page in order (delete `removed`, upsert `added` and `modified` " +
      "by `account_guid` + `guid`); call again with `next_cursor` while `has_more`; save `next_cursor` with " +
      "your copy and call again after a sync (the `member.synced` event) or on a schedule. The client loop:\n\n" +
      "```\ncursor = load()            // absent the first time\ndo {\n" +
      "  page = GET /v1/transactions/sync?cursor=<cursor>&count=500\n" +
      "  for r in page.removed:  copy.delete(r.account_guid, r.guid)\n" +
      "  for t in page.added + page.modified:  copy.upsert(t.account_guid, t.guid, t)\n" +
      "  cursor = page.next_cursor\n} while (page.has_more)\nsave(copy, cursor)   // together\n```\n\n" +
      "`modified` holds every row written since the cursor, new or changed (the store writes rows without " +
      "reading them first, so it cannot tell the two apart): upsert it. A cursor is bound to the user and to " +
      "`member_guid`/`account_guid`: `invalid_cursor` (400) for a damaged or other-view cursor, " +
      "`cursor_forbidden` (403) for another user's, `cursor_expired` (410) once older than the change log " +
      "keeps (30 days by default): start again without a cursor, from an empty copy.",
    query: s.transactionsSyncQuerySchema,
    status: 200,
    response: s.transactionsSyncResponseSchema,
    errors: [403, 410],
  },
  ListSyncs: {
    summary: "The member's sync runs, newest first (its history)",
    description:
      "One entry per run: what started it (`create`, `oauth`, `user`, `reconnect`, `webhook`, `sweep`), when it " +
      "started and ended, its outcome and reason, and the rows it wrote (new or updated: rows are upserts by MX " +
      "guid) and removed (pending transactions MX dropped). Runs are kept 90 days. Page with `next_cursor`.",
    params: s.memberParamsSchema,
    query: s.listSyncsQuerySchema,
    status: 200,
    response: s.syncRunsResponseSchema,
    errors: [404],
  },
  ReconnectMember: {
    summary: "Reconnect a member that needs the user, keeping its data (update mode)",
    description:
      "For a member whose `needs_user_action` is true (DENIED, EXPIRED, LOCKED after unlocking at the bank, " +
      "consent revoked, …). A credential member: send the user's new `credentials` (the fields of " +
      "/v1/institutions/{code}/credentials); MX checks them and a sync follows (trigger `reconnect`). An OAuth " +
      "member: send `{}`; the answer carries a new single-use `oauth_window_uri` (also the way to get a new " +
      "window when the first link was lost); the callback starts the sync. Stored data stays readable " +
      "throughout. 409 while a sync of the member runs.",
    params: s.memberParamsSchema,
    body: s.reconnectBodySchema,
    status: 202,
    response: s.reconnectResponseSchema,
    errors: [404, 409, 413, 415, 422, 502, 503, 504],
  },
  OauthCallback: {
    summary: "MX's OAuth redirect (browser; no token)",
    description:
      "The state is opaque (encrypted, then signed), lives at most 10 minutes and works once; if starting the " +
      "sync failed (a 5xx page), the same link works again until it has. Redirects (302) to " +
      "the member's allow-listed `redirect_url` with `member_guid` and `status`: `received` (MX's redirect is only " +
      "a hint: the member's sync status says whether it connected) or `error` with MX's `error_reason` (e.g. " +
      "`CANCELLED`, `SESSION_EXPIRED`, `DENIED`; the member then needs the user, with a reason); or answers a " +
      "short HTML page saying the same. MX's `DENIED` here means the user declined at the bank; the member's reason " +
      "says so. A forged (400), expired (410) or replayed (409) state, or a deleted member (404), gets an HTML " +
      "page and changes nothing. Every page links back to the app: the member's allow-listed `redirect_url`, else " +
      "the first `REDIRECT_ALLOW_LIST` entry (none if the list is empty), never a URL from the query.",
    params: s.oauthCallbackParamsSchema,
    query: s.oauthCallbackQuerySchema,
    status: 302,
    errors: [404, 409, 410],
    pages: true,
  },
  MxWebhook: {
    summary: "MX's webhooks (MX's HTTP basic auth; no token)",
    description:
      "For MX, not for apps: give MX this URL (output MxWebhookUrl) and the stack's webhook credentials. Data-updated " +
      "and connection-status webhooks queue the member for a background refresh; the answer is 204 at once, " +
      "anything else is ignored (204 too). The body is MX's JSON (MX adds fields and sends nulls).",
    body: mxWebhookSchema,
    status: 204,
    errors: [401, 413],
    errorText: { 401: "The basic-auth credentials are missing or wrong." },
    security: [{ mxWebhookBasic: [] }],
  },
};

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request: `error.message` names the field.",
  401:
    'No valid bearer token. API Gateway\'s JWT authorizer answers `{"message":"Unauthorized"}` (not the API\'s ' +
    "error envelope) with `www-authenticate` saying why; a valid token whose `sub` is not a user id the API " +
    "accepts gets the same answer from the API.",
  403: "Forbidden (`cursor_forbidden`: a cursor issued to another user).",
  404: "Not found, or not the caller's (both answer the same).",
  409: "Conflict (e.g. `no_challenge`: no security question waits).",
  410: "Expired.",
  413: `Body larger than ${MAX_BODY_BYTES} bytes.`,
  415: "Body not sent as application/json (the media type in any case, with any parameters).",
  422: "Well-formed but refused (unknown institution, answers that do not fit the prompts).",
  500: "Unexpected failure (no detail is disclosed).",
  502: "MX gave an unexpected answer.",
  503: "MX is busy or unavailable: retry later (Retry-After when known).",
  504: "MX did not answer in time.",
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parameters(where: "path" | "query", schema: z.ZodObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = jsonSchema(field as z.ZodType, "input");
    const { description, ...rest } = fieldSchema;
    return {
      name,
      in: where,
      required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

export function buildOpenApiDocument(options: { version?: string; serverUrl?: string } = {}) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes) {
    const op = operations[route.id];
    if (!op) throw new Error(`No OpenAPI operation for route ${route.id}`);
    const responses: Record<string, unknown> = {};
    if (op.pages) {
      responses[String(op.status)] = {
        description: "Redirect to the app's allow-listed URL (or a 200 page).",
      };
      responses["200"] = { description: "A short page saying what happened.", content: { "text/html": {} } };
    } else if (op.response) {
      responses[String(op.status)] = {
        description: op.status === 202 ? "Accepted" : "OK",
        content: { "application/json": { schema: jsonSchema(op.response, "output") } },
      };
    } else {
      responses[String(op.status)] = { description: "Done" };
    }
    const errorStatuses = new Set([400, ...(route.public ? [] : [401]), ...(op.errors ?? []), 500]);
    for (const status of [...errorStatuses].sort()) {
      const description = op.errorText?.[status] ?? ERROR_TEXT[status] ?? "Error";
      responses[String(status)] = op.pages
        ? { description, content: { "text/html": {} } }
        : status === 401 && !route.public
          ? {
              description,
              headers: { "www-authenticate": WWW_AUTHENTICATE },
              ...errorContent("GatewayError"),
            }
          : { description, ...errorContent() };
    }
    const operation: Record<string, unknown> = {
      operationId: route.id.charAt(0).toLowerCase() + route.id.slice(1),
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      parameters: [...parameters("path", op.params), ...parameters("query", op.query)],
      responses,
      ...(route.public ? { security: op.security ?? [] } : {}),
    };
    if (op.body) {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: { ...jsonSchema(op.body, "input"), ...op.bodyRules } } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mx-connect Connect API",
      version: options.version ?? "0.1.0",
      description:
        "Connect end users' bank accounts through MX and read their data back. JSON, snake_case; errors are " +
        '`{"error":{"code","message"}}`. Every route but the OAuth callback and MX\'s webhooks needs a bearer JWT whose `sub` is the user.',
    },
    servers: [...(options.serverUrl ? [{ url: options.serverUrl }] : []), DEPLOYED_SERVER],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        mxWebhookBasic: {
          type: "http",
          scheme: "basic",
          description: "MX's webhook credentials: the stack's secret (output MxWebhookCredentialsSecretArn).",
        },
      },
      schemas: {
        Error: jsonSchema(s.errorResponseSchema, "output"),
        GatewayError: {
          type: "object",
          description:
            'API Gateway\'s own answer, not the API\'s error envelope: the JWT authorizer\'s 401 is `{"message":"Unauthorized"}`.',
          properties: { message: { type: "string", examples: ["Unauthorized"] } },
          required: ["message"],
          additionalProperties: false,
        },
      },
    },
  };
}

/** The JWT authorizer's reason for a 401 (RFC 6750), sent with `{"message":"Unauthorized"}`. */
const WWW_AUTHENTICATE = {
  description: "Why the token was refused, as RFC 6750's Bearer challenge.",
  schema: { type: "string" },
  example: 'Bearer scope="" error="invalid_token" error_description="the token has expired"',
};

function errorContent(schema: "Error" | "GatewayError" = "Error") {
  return { content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } };
}

/** The deployed API: stack output `ApiUrl` (or your custom domain). */
const DEPLOYED_SERVER = {
  url: "https://{api_id}.execute-api.{region}.amazonaws.com",
  description: "The deployed API (stack output ApiUrl)",
  variables: {
    api_id: { default: "abc123defg", description: "The HTTP API's id" },
    region: { default: "us-east-1", description: "The stack's AWS region" },
  },
};

// The Connect API's request and response schemas. The same zod schemas validate every request at the edge
// and generate the OpenAPI description (openapi.ts, via zod 4's z.toJSONSchema), so the two never drift.
import * as z from "zod";
import { SYNC_STATUSES } from "../domain/connection";
import { SYNC_TRIGGERS } from "../domain/triggers";
import { CHANGES_DEFAULT_PAGE, CHANGES_MAX_PAGE } from "../feed/settings";
import { SYNC_HISTORY_DEFAULT_PAGE, SYNC_HISTORY_MAX_PAGE } from "../history/settings";
import {
  accountOwnerSchema,
  accountSchema,
  challengeSchema,
  credentialFieldSchema,
  institutionSchema,
  paginationSchema,
  transactionSchema,
} from "../mx/schemas";

// ---- building blocks -------------------------------------------------------------------------------

/** MX guids: a three-letter prefix and a short token. Anything else (paths, quotes, markup) is a 400. */
const mxGuid = (prefix: string, example: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}-[A-Za-z0-9-]{1,64}$`), `must be an MX guid like ${example}`)
    .meta({ example });

export const memberGuidSchema = mxGuid("MBR", "MBR-7c6f361b-b582-15d6-60c0-358f12466b4b");
export const accountGuidSchema = mxGuid("ACT", "ACT-06d7f44b-caae-0f6e-1384-01f52e75dcb1");
const anyGuidSchema = z
  .string()
  .regex(/^[A-Z]{3}-[A-Za-z0-9-]{1,64}$/, "must be an MX guid like CRD-27d0edb8-1d50-5b90-bcbc-be270ca42b9f")
  .meta({ example: "CRD-27d0edb8-1d50-5b90-bcbc-be270ca42b9f" });

export const institutionCodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an MX institution code (letters, digits, _ and -)")
  .meta({ example: "mxbank" });

/** The app user's id: the JWT `sub`, also the MX user's `id`. Printable, no spaces or markup. */
export const userIdSchema = z.string().regex(/^[A-Za-z0-9._:@|+-]{1,128}$/, "must be a valid user id");

/** API Gateway HTTP API v2 JWT authorizer context: the claims the API relies on. */
export const jwtContextSchema = z.object({
  requestContext: z.object({
    authorizer: z.object({ jwt: z.object({ claims: z.object({ sub: userIdSchema }) }) }),
  }),
});

const isoDate = z.iso.date("must be a date like 2026-01-31");

/** A whole number from a query string, with a message that says so (not "received NaN"). */
const queryInt = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

/** A credential value or MFA answer: passed straight to MX, stored and logged nowhere. */
const secretValue = z.string().min(1).max(1024).meta({ format: "password", writeOnly: true });

// ---- requests --------------------------------------------------------------------------------------

export const searchInstitutionsQuerySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .regex(/^[\p{L}\p{N} .,'&()+-]{1,100}$/u, "must be 1-100 letters, digits, spaces or . , ' & ( ) + -")
    .optional()
    .meta({ description: "Part of the institution's name.", example: "mx bank" }),
  page: queryInt(1, 1000, 1),
  records_per_page: queryInt(10, 100, 25),
});

export const institutionParamsSchema = z.strictObject({ institution_code: institutionCodeSchema });
export const memberParamsSchema = z.strictObject({ member_guid: memberGuidSchema });
export const accountParamsSchema = z.strictObject({ account_guid: accountGuidSchema });

export const credentialAnswerSchema = z.strictObject({ guid: anyGuidSchema, value: secretValue });

export const createMemberBodySchema = z
  .strictObject({
    institution_code: institutionCodeSchema,
    credentials: z.array(credentialAnswerSchema).min(1).max(20).optional().meta({
      description: "The institution's credential fields (from …/credentials) with the user's values.",
    }),
    is_oauth: z.boolean().optional().meta({ description: "Connect through the bank's OAuth page instead." }),
    redirect_url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .max(2048)
      .optional()
      .meta({ description: "OAuth only: where the browser goes after the bank. Must be on the allow-list." }),
    identify: z.boolean().optional().meta({ description: "Also fetch account owners' identity data." }),
  })
  .superRefine((body, ctx) => {
    if (body.is_oauth && body.credentials) {
      ctx.addIssue({
        code: "custom",
        path: ["credentials"],
        message: "must be absent when is_oauth is true",
      });
    }
    if (!body.is_oauth && !body.credentials) {
      ctx.addIssue({ code: "custom", path: ["credentials"], message: "is required unless is_oauth is true" });
    }
    if (!body.is_oauth && body.redirect_url) {
      ctx.addIssue({ code: "custom", path: ["redirect_url"], message: "is only used with is_oauth" });
    }
  });
export type CreateMemberBody = z.infer<typeof createMemberBodySchema>;

export const answerChallengesBodySchema = z.strictObject({
  challenges: z.array(credentialAnswerSchema).min(1).max(20),
});

export const listTransactionsQuerySchema = z
  .strictObject({
    from: isoDate.optional().meta({ description: "Earliest date, inclusive (YYYY-MM-DD)." }),
    to: isoDate.optional().meta({ description: "Latest date, inclusive (YYYY-MM-DD)." }),
    limit: queryInt(1, 500, 100),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_=-]{1,2048}$/, "must be the next_cursor of a previous page")
      .optional()
      .meta({ description: "Opaque: the `next_cursor` of the previous page." }),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ["from"], message: "must not be after to" });

/** What MX appends to the OAuth redirect. Unknown extras are ignored: MX may add some. */
export const oauthCallbackQuerySchema = z.object({
  status: z.enum(["success", "error"]).optional(),
  member_guid: memberGuidSchema.optional(),
  error_reason: z
    .string()
    .regex(/^[A-Z_]{1,64}$/)
    .optional(),
});
export const oauthCallbackParamsSchema = z.strictObject({
  state: z.string().regex(/^[A-Za-z0-9_-]{16,1024}\.[A-Za-z0-9_-]{43}$/, "is not a valid state"),
});

// ---- responses -------------------------------------------------------------------------------------

export const syncViewSchema = z.object({
  status: z.enum(SYNC_STATUSES),
  counts: z.object({ owners: z.number(), accounts: z.number(), transactions: z.number() }).nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  last_synced_at: z.string().nullable(),
  reason: z.string().nullable().meta({
    description: "Human-readable, when the member is not synced, or synced on data MX did not refresh.",
  }),
  aggregation: z.enum(["AGGREGATED", "DECLINED"]).nullable().meta({
    description:
      "Last SYNCED run: AGGREGATED (MX aggregated for it) or DECLINED (MX ran no aggregation, e.g. within 3 hours of the last one; the data is as of data_as_of).",
  }),
  data_as_of: z.string().nullable().meta({
    description: "MX's successfully_aggregated_at for the stored data: how fresh it is at MX.",
  }),
  consecutive_failures: z.number().int().meta({
    description: "Runs in a row that ended other than SYNCED since the last SYNCED one.",
  }),
});

export const memberViewSchema = z.object({
  guid: memberGuidSchema,
  institution_code: z.string(),
  is_oauth: z.boolean(),
  identify: z.boolean(),
  connection_status: z.string().nullable().meta({ description: "MX's connection status, as last seen." }),
  challenges_waiting: z.boolean().meta({ description: "True when an MFA answer is awaited." }),
  challenges: z.array(challengeSchema).optional().meta({
    description: "While challenges_waiting: the prompts, exactly as GET …/challenges shows them.",
  }),
  needs_user_action: z.boolean().meta({
    description: "True when only the user can fix the connection: reconnect it (sync.reason says why).",
  }),
  deleting: z.boolean().meta({
    description:
      "True once DELETE was accepted: the member is deleted at MX and its stored rows are being purged in " +
      "the background (GET then answers 404). No sync runs or writes meanwhile.",
  }),
  sync: syncViewSchema,
  history_from: z.string().nullable().meta({
    description: "The oldest transaction date stored (YYYY-MM-DD): how far back the member's history goes.",
  }),
  products: z
    .object({
      identity: z.enum(["AVAILABLE", "NOT_ENABLED", "NOT_SUPPORTED"]).optional(),
      extended_history: z.enum(["AVAILABLE", "NOT_ENABLED", "NOT_SUPPORTED"]).optional(),
    })
    .meta({
      description:
        "MX products tried for this member: NOT_ENABLED = outside your MX contract, NOT_SUPPORTED = the bank does not offer it.",
    }),
  created_at: z.string(),
  updated_at: z.string(),
});
export type MemberView = z.infer<typeof memberViewSchema>;

export const createMemberResponseSchema = z.object({
  member: memberViewSchema.extend({
    oauth_window_uri: z.string().optional().meta({
      description: "OAuth members: open it in the system browser (single use).",
    }),
  }),
});
export const memberResponseSchema = z.object({ member: memberViewSchema });
export const membersResponseSchema = z.object({ members: z.array(memberViewSchema) });
export const institutionsResponseSchema = z.object({
  institutions: z.array(institutionSchema),
  pagination: paginationSchema,
});
export const credentialsResponseSchema = z.object({ credentials: z.array(credentialFieldSchema) });
export const challengesResponseSchema = z.object({
  challenges: z.array(challengeSchema).meta({ description: "The prompts only, never answers." }),
});
export const acceptedResponseSchema = z.object({ member: memberViewSchema });
export const ownersResponseSchema = z.object({ account_owners: z.array(accountOwnerSchema) });
export const accountsResponseSchema = z.object({ accounts: z.array(accountSchema) });
export const transactionsResponseSchema = z.object({
  transactions: z.array(transactionSchema),
  next_cursor: z.string().optional().meta({ description: "Present when there are older transactions." }),
});
export const syncRunViewSchema = z.object({
  run_id: z.string(),
  trigger: z.enum(SYNC_TRIGGERS).meta({ description: "What started the run." }),
  started_at: z.string(),
  finished_at: z.string(),
  outcome: z.string().meta({ description: "SYNCED, NEEDS_USER, FAILED or TIMED_OUT." }),
  reason: z.string().nullable(),
  rows_written: z
    .number()
    .int()
    .meta({ description: "Owners, accounts and transactions written (new or updated)." }),
  rows_removed: z
    .number()
    .int()
    .meta({ description: "Stored rows removed (pending transactions MX dropped)." }),
  mx_calls: z.number().int().nullable().meta({ description: "HTTP requests sent to MX, when counted." }),
});
export const syncRunsResponseSchema = z.object({
  syncs: z.array(syncRunViewSchema),
  next_cursor: z.string().optional().meta({ description: "Present when there are older runs." }),
});
export const listSyncsQuerySchema = z.strictObject({
  limit: queryInt(1, SYNC_HISTORY_MAX_PAGE, SYNC_HISTORY_DEFAULT_PAGE),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_=-]{1,2048}$/, "must be the next_cursor of a previous page")
    .optional()
    .meta({ description: "Opaque: the `next_cursor` of the previous page." }),
});
/** Reconnect: new credentials for a credential member; no body (or `{}`) for an OAuth member's new window. */
export const reconnectBodySchema = z
  .strictObject({ credentials: z.array(credentialAnswerSchema).min(1).max(20).optional() })
  .default({});
export type ReconnectBody = z.infer<typeof reconnectBodySchema>;
export const reconnectResponseSchema = z.object({
  member: memberViewSchema.extend({
    oauth_window_uri: z.string().optional().meta({
      description: "OAuth members: open it in the system browser (single use).",
    }),
  }),
});

export const errorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

// ---- the transactions changes feed ---------------------------------------------------------------------

export const transactionsSyncQuerySchema = z.strictObject({
  // Checked by the feed itself, so a damaged cursor is `invalid_cursor`, not a generic `invalid_request`.
  cursor: z.string().min(1).max(4096).optional().meta({
    description: "Opaque: the `next_cursor` of the previous page. Absent: from an empty copy (everything).",
  }),
  count: queryInt(1, CHANGES_MAX_PAGE, CHANGES_DEFAULT_PAGE).meta({
    description: `Changes per page (default ${CHANGES_DEFAULT_PAGE}, at most ${CHANGES_MAX_PAGE}).`,
  }),
  member_guid: memberGuidSchema.optional().meta({ description: "Only this member's transactions." }),
  account_guid: accountGuidSchema.optional().meta({ description: "Only this account's transactions." }),
});
export const removedTransactionSchema = z.object({
  guid: z.string(),
  account_guid: z.string(),
  member_guid: z.string(),
});
export const transactionsSyncResponseSchema = z.object({
  added: z.array(transactionSchema).meta({ description: "Rows your copy does not hold: insert them." }),
  modified: z
    .array(transactionSchema)
    .meta({ description: "Rows written since your cursor, new or changed: upsert them by guid." }),
  removed: z
    .array(removedTransactionSchema)
    .meta({ description: "Rows deleted (pending rows MX dropped, a deleted member's rows): delete them." }),
  next_cursor: z.string().meta({ description: "Save it with your copy; send it on the next call." }),
  has_more: z.boolean().meta({ description: "True: call again at once with next_cursor." }),
});

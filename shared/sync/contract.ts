// The sync workflow's payloads: what enters the state machine and what each task returns.
// Nothing secret ever appears here: guids, flags, counts and timings only.
import * as z from "zod";
import { ENDED_SYNC_STATUSES } from "../domain/sync";
import { SYNC_TRIGGERS } from "../domain/triggers";

/**
 * The MX error names the state machine retries (a task's thrown error's `name` is its Step Functions error
 * name): infra/workflow/definition.ts retries them, Finish explains them as "MX was unavailable".
 */
export const TRANSIENT_MX_ERRORS = ["MxRateLimitedError", "MxUnavailableError", "MxTimeoutError"] as const;

const guid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}-[A-Za-z0-9-]{1,64}$`));

export const syncRequestSchema = z.object({
  userId: z.string().min(1).max(128),
  mxUserGuid: guid("USR"),
  memberGuid: guid("MBR"),
  identify: z.boolean().default(false),
  /** initial: the first sync after create/OAuth; refresh: scheduled or user-asked, aggregate first. */
  mode: z.enum(["initial", "refresh"]).default("initial"),
  /** Who started the run, recorded in its history: create, oauth, user, reconnect (a scheduled run: sweep). */
  trigger: z.enum(SYNC_TRIGGERS).default("create"),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** Every task gets the request and the run's id (the execution name, from $$.Execution.Name). */
export const taskBaseSchema = z.object({ request: syncRequestSchema, syncRun: z.string().min(1).max(80) });

export const beginSyncOutputSchema = z.object({
  acquired: z.boolean(),
  startedAt: z.number(), // epoch ms
  /** Transaction window for this run: the whole history on initial, a recent window on refresh. */
  window: z.object({ from: z.string(), to: z.string() }),
});

export const pollInputSchema = taskBaseSchema.extend({
  /** Epoch ms when this polling phase began (the limit and the backoff are measured from it). */
  phaseStartedAt: z.number(),
});
export const pollOutputSchema = z.object({
  phase: z.enum(["AGGREGATING", "CONNECTED", "CHALLENGED", "NEEDS_USER", "FAILED", "TIMED_OUT"]),
  connectionStatus: z.string(),
  waitSeconds: z.number().int().min(3),
  elapsedSeconds: z.number(),
});

export const challengeInputSchema = taskBaseSchema.extend({
  taskToken: z.string().min(1),
  round: z.number().int(),
});

export const pageTaskInputSchema = taskBaseSchema.extend({
  page: z.number().int().min(1),
  window: z.object({ from: z.string(), to: z.string() }),
});
export const pageTaskOutputSchema = z.object({
  stored: z.number().int(),
  totalPages: z.number().int(),
  totalEntries: z.number().int(),
});
export const countOutputSchema = z.object({ stored: z.number().int() });

export const finishInputSchema = taskBaseSchema.extend({
  outcome: z.enum([...ENDED_SYNC_STATUSES, "ALREADY_RUNNING"]),
  connectionStatus: z.string().optional(),
  startedAt: z.number().optional(),
  counts: z
    .object({ owners: z.number(), accounts: z.number(), transactionPages: z.array(z.number()) })
    .optional(),
  window: z.object({ from: z.string(), to: z.string() }).optional(),
  /** From a Catch: `{ Error, Cause }`. Cause is trimmed before it is stored. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

export type TaskBase = z.infer<typeof taskBaseSchema>;
export type BeginSyncOutput = z.infer<typeof beginSyncOutputSchema>;
export type PollInput = z.infer<typeof pollInputSchema>;
export type PollOutput = z.infer<typeof pollOutputSchema>;
export type ChallengeInput = z.infer<typeof challengeInputSchema>;
export type PageTaskInput = z.infer<typeof pageTaskInputSchema>;
export type PageTaskOutput = z.infer<typeof pageTaskOutputSchema>;
export type CountOutput = z.infer<typeof countOutputSchema>;
export type FinishInput = z.infer<typeof finishInputSchema>;

/** The scheduled refresh: one invocation walks pages of members until done or out of time. */
export const refreshInputSchema = z.object({ cursor: z.string().min(1).optional() }).default({});
export const refreshOutputSchema = z.object({ started: z.number().int(), cursor: z.string().optional() });
export type RefreshInput = z.infer<typeof refreshInputSchema>;
export type RefreshOutput = z.infer<typeof refreshOutputSchema>;

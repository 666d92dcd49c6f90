// The sync workflow's payloads: what enters the state machine and what each task returns.
// Nothing secret ever appears here: guids, flags, counts and timings only.
import * as z from "zod";
import { ENDED_SYNC_STATUSES } from "../domain/sync";
import { SYNC_TRIGGERS } from "../domain/triggers";

/**
 * The MX error names the state machine retries (a task's thrown error's `name` is its Step Functions error
 * name): infra/workflow/definition.ts retries them, Finish explains them as "MX was unavailable".
 */
export const TRANSIENT_MX_ERRORS = [
  "MxRateLimitedError",
  "MxUnavailableError",
  "MxTimeoutError",
  "MxDeadlineError",
] as const;

/**
 * Identify / ExtendHistory met a job of another kind running at MX (409): the state machine asks again
 * later, a bounded number of times (MX takes one job per member at a time).
 */
export const MX_JOB_BUSY_ERROR = "MxJobBusyError";

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

/** A span of days (YYYY-MM-DD, inclusive) of transactions to read. */
const windowSchema = z.object({ from: z.string(), to: z.string() });

/**
 * MX's `successfully_aggregated_at` read before a job was asked for. The job is done once MX reports a later
 * one: MX's own clock on both sides, so no skew. Null: any success counts (a brand-new member, whose job
 * was asked for at create; or MX answered that the job is under way).
 */
const baselineSchema = z.string().nullable();

export const beginSyncOutputSchema = z.object({
  acquired: z.boolean(),
  startedAt: z.number(), // epoch ms
  /** Transaction window for this run: the whole history on initial, a recent window on refresh. */
  window: windowSchema,
  /** The window cut into spans MX accepts in one list call (at most MAX_TRANSACTION_WINDOW_DAYS), newest first. */
  windows: z.array(windowSchema),
  /** The aggregation's baseline (see baselineSchema). */
  baseline: baselineSchema,
  /** Ask MX for extended history after the aggregation (first sync, when the deployment enables it). */
  extendHistory: z.boolean(),
});

/** Identify / ExtendHistory: whether MX took the job, and the polling phase that follows it. */
export const jobOutputSchema = z.object({
  kind: z.enum(["identify", "history"]),
  /** False when the product is not available (recorded on the member): the run goes on without it. */
  requested: z.boolean(),
  baseline: baselineSchema,
  phaseStartedAt: z.number(),
});

export const pollInputSchema = taskBaseSchema.extend({
  /** Epoch ms when this polling phase began (the limit and the backoff are measured from it). */
  phaseStartedAt: z.number(),
  /** The polled job's baseline; absent = none (a run started before baselines were carried). */
  baseline: baselineSchema.optional(),
});
export const pollOutputSchema = z.object({
  /** DECLINED: MX took the request (202) but ran nothing within the start grace (e.g. the 3-hour rule). */
  phase: z.enum(["AGGREGATING", "CONNECTED", "DECLINED", "CHALLENGED", "NEEDS_USER", "FAILED", "TIMED_OUT"]),
  connectionStatus: z.string(),
  waitSeconds: z.number().int().min(3),
  elapsedSeconds: z.number(),
  /** MX's `successfully_aggregated_at` at this poll: how fresh MX's data is. */
  dataAsOf: z.string().nullable(),
});

export const challengeInputSchema = taskBaseSchema.extend({
  taskToken: z.string().min(1),
  round: z.number().int(),
});

export const pageTaskInputSchema = taskBaseSchema.extend({
  page: z.number().int().min(1),
  window: windowSchema,
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
    .object({
      owners: z.number(),
      accounts: z.number(),
      // One list of page counts per window (the Map over windows), flattened here.
      transactionPages: z
        .array(z.union([z.number(), z.array(z.number())]))
        .transform((pages) => pages.flat()),
    })
    .optional(),
  window: windowSchema.optional(),
  /** DECLINED: MX ran no aggregation for this run (e.g. within 3 h of the last); the data is as of dataAsOf. */
  aggregation: z.enum(["AGGREGATED", "DECLINED"]).optional(),
  /** MX's `successfully_aggregated_at` when the run read the data (null: MX never aggregated it). */
  dataAsOf: z.string().nullable().optional(),
  /** From a Catch: `{ Error, Cause }`. Cause is trimmed before it is stored. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

export type TaskBase = z.infer<typeof taskBaseSchema>;
export type BeginSyncOutput = z.infer<typeof beginSyncOutputSchema>;
export type PollInput = z.infer<typeof pollInputSchema>;
export type PollOutput = z.infer<typeof pollOutputSchema>;
export type JobOutput = z.infer<typeof jobOutputSchema>;
export type ChallengeInput = z.infer<typeof challengeInputSchema>;
export type PageTaskInput = z.infer<typeof pageTaskInputSchema>;
export type PageTaskOutput = z.infer<typeof pageTaskOutputSchema>;
export type CountOutput = z.infer<typeof countOutputSchema>;
export type FinishInput = z.infer<typeof finishInputSchema>;

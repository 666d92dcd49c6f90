// Lambda configuration: environment variables parsed by zod once per cold start. Each Lambda reads only
// the subset it needs (a schema per role), so a function is never blocked by a variable it does not use,
// and a missing or malformed variable fails the cold start with a message naming it.
import * as z from "zod";
import { DEFAULT_JOB_START_GRACE_SECONDS, DEFAULT_POLL_MAX_WAIT_SECONDS } from "./domain/connection";
import { DEFAULT_CHALLENGE_TIMEOUT_SECONDS } from "./domain/sync";
import { DEFAULT_CHANGE_RETENTION_DAYS } from "./feed/settings";
import { BACKGROUND_REFRESH } from "./refresh/settings";

const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "SILENT", "CRITICAL"] as const;

/** An integer count from an environment string, e.g. "900". */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Every Lambda: logging. Powertools reads these variables itself; they are parsed here so a typo fails fast. */
export const baseConfigSchema = z.object({
  POWERTOOLS_SERVICE_NAME: z.string().min(1).default("mx-connect"),
  LOG_LEVEL: z
    .string()
    .transform((level) => level.toUpperCase())
    .pipe(z.enum(LOG_LEVELS))
    .default("INFO"),
});

/** Lambdas that call MX: where MX is and which Secrets Manager secret holds `{client_id, api_key}`. */
export const mxConfigSchema = baseConfigSchema.extend({
  MX_BASE_URL: z.url({ protocol: /^https?$/ }),
  MX_SECRET_ID: z.string().min(1),
});

/** Lambdas that read or write the table. */
export const tableConfigSchema = baseConfigSchema.extend({
  TABLE_NAME: z.string().min(3).max(255),
});

/**
 * Every Lambda with the table: how long the transactions change log keeps its entries (DynamoDB TTL), which
 * is also how long a changes-feed cursor is honoured. Writers and the reader must agree: infra sets it on all.
 */
export const changeLogConfigSchema = z.object({
  CHANGE_RETENTION_DAYS: positiveInt(DEFAULT_CHANGE_RETENTION_DAYS).pipe(z.number().max(3650)),
});

/**
 * How long a sync run waits for an MFA answer: the AwaitChallenge task's TimeoutSeconds (infra sets both
 * from one value). The stored task token is handed out for that long, no longer.
 */
export const challengeConfigSchema = z.object({
  CHALLENGE_TIMEOUT_SECONDS: positiveInt(DEFAULT_CHALLENGE_TIMEOUT_SECONDS),
});

/** The sync workflow's task Lambdas (sync-*.ts). */
export const syncConfigSchema = mxConfigSchema.extend({
  TABLE_NAME: tableConfigSchema.shape.TABLE_NAME,
  ...challengeConfigSchema.shape,
  /** A polling phase (connect, after an MFA answer, after identify) ends TIMED_OUT after this long. */
  POLL_PHASE_LIMIT_SECONDS: positiveInt(900),
  /** The longest Wait between two polls. */
  POLL_MAX_WAIT_SECONDS: positiveInt(DEFAULT_POLL_MAX_WAIT_SECONDS).pipe(z.number().min(3)),
  /** How far back the first sync reads transactions. */
  INITIAL_HISTORY_DAYS: positiveInt(730),
  /** How far back a refresh reads transactions (new ones, and pending ones that posted or vanished). */
  REFRESH_WINDOW_DAYS: positiveInt(14),
  /**
   * How long a job MX accepted (202) may show no sign of running before the run concludes MX declined it
   * (the 3-hour rule answers 202 and runs nothing; MX may also start a job a moment after the request).
   */
  POLL_JOB_START_GRACE_SECONDS: positiveInt(DEFAULT_JOB_START_GRACE_SECONDS),
  /** Ask MX for extended transaction history (up to 24 months) on a member's first sync (CDK context `extendedHistory`). */
  EXTENDED_HISTORY: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
  /**
   * How long a run's lease on its member holds if the run dies without reaching Finish. Longer than the
   * longest run: polling phases, MFA rounds and the fan-out (default 2 h).
   */
  SYNC_LEASE_SECONDS: positiveInt(7200),
});

/** Lambdas that start sync executions. */
export const stateMachineConfigSchema = z.object({
  STATE_MACHINE_ARN: z.string().regex(/^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w.-]{1,80}$/, {
    message: "must be a Step Functions state machine ARN",
  }),
});

/** Lambdas that send to the background refresh queue (the webhook, the sweep, the consumer). */
export const refreshQueueConfigSchema = z.object({
  REFRESH_QUEUE_URL: z.url({ protocol: /^https?$/ }),
});

/** Lambdas that send to the member purge queue (the DELETE route, the purge continuing itself). */
export const purgeQueueConfigSchema = z.object({
  PURGE_QUEUE_URL: z.url({ protocol: /^https?$/ }),
});

/** The MX webhook route: the basic-auth secret MX sends (JSON `{"username","password"}`) and the queue. */
export const webhookConfigSchema = baseConfigSchema.extend({
  ...refreshQueueConfigSchema.shape,
  WEBHOOK_SECRET_ID: z.string().min(1),
});

/** The background refresh's consumer and sweep: MX, the table and the queue. */
export const backgroundRefreshConfigSchema = mxConfigSchema.extend({
  ...tableConfigSchema.shape,
  ...refreshQueueConfigSchema.shape,
});

/** The sweep: its cadence in hours (infra sets it from `-c sweepEveryHours`); its pace is derived from it. */
export const sweepConfigSchema = z.object({
  SWEEP_EVERY_HOURS: positiveInt(BACKGROUND_REFRESH.sweepEveryHours).pipe(z.number().max(999)),
});

/** Lambdas that publish app events (shared/events): the bus the stack creates. */
export const eventsConfigSchema = z.object({ EVENT_BUS_NAME: z.string().min(1).max(256) });

/** Raised when the environment does not satisfy a schema: names each bad variable, never its value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** Pure: parses `env` with `schema`, or throws a ConfigError listing every missing or invalid variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    // Zod's messages name the expectation, never the received value: safe even for secret-ish variables.
    const what =
      env[name] === undefined || env[name] === "" ? "is required" : `is invalid (${issue.message})`;
    return `${name} ${what}`;
  });
  return fail(`Invalid configuration: ${problems.join("; ")}.`);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

const loaded = new WeakMap<object, unknown>();

/** The configuration for `schema`, read from process.env on first use and kept for the container's life. */
export function config<S extends z.ZodType>(schema: S): z.output<S> {
  if (loaded.has(schema)) return loaded.get(schema) as z.output<S>;
  const value = loadConfig(schema);
  loaded.set(schema, value);
  return value;
}

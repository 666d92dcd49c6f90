// The sandbox's knobs: the world a test or a benchmark asks for (size, timing, faults), validated once.
import * as z from "zod";

export interface FaultKnobs {
  /** Fraction (0..1) of API requests answered 429 (with `Retry-After` only when retryAfterSeconds is set). */
  rate429: number;
  /** Fraction (0..1) of API requests answered 503 or 500. */
  rate5xx: number;
  /** Delay added before every API request is handled. */
  latencyMs: number;
  /** `Retry-After` on 429/503; null = none, as MX documents none. */
  retryAfterSeconds: number | null;
  /** Fraction (0..1) of API requests that start a burst of 429s (an MX rate limit that holds a while). */
  burst429Rate: number;
  /** Requests answered 429 in a row in one burst, the starting one included. */
  burst429Length: number;
  /** Fraction (0..1) of API requests answered slowly (a latency spike on top of latencyMs). */
  slowRate: number;
  /** The extra delay of a slow answer. */
  slowMs: number;
  /**
   * Fraction (0..1) of API answers cut off mid-body: the request was handled (a POST had its effect), the
   * status line, headers and half the body are sent, then the connection is dropped.
   */
  dropRate: number;
}

/** Products the client's MX contract includes; a product outside it answers 403, as at MX. */
export interface ProductKnobs {
  /** identify + account_owners. */
  identity: boolean;
  /** POST …/extend_history. */
  extendedHistory: boolean;
}

/** Where and how the sandbox POSTs MX webhooks (docs.mx.com/resources/webhooks). */
export interface WebhookKnobs {
  /** Receiver URL; null = webhooks are recorded (sandbox.webhooks()) but not sent. */
  url: string | null;
  /** HTTP basic auth MX sends with each webhook. */
  username: string;
  password: string;
  /** Fraction (0..1) of webhooks never sent (MX says not to rely on webhooks alone). */
  dropRate: number;
  /** Fraction (0..1) of webhooks sent twice. */
  duplicateRate: number;
  /** Send the webhooks due at one time in reverse order. */
  outOfOrder: boolean;
  /** Add a field the receiver does not know (MX may add fields at any time). */
  unknownField: boolean;
  /** Send nulls in optional fields (job_guid, user_id, transactions_updated_count). */
  nulls: boolean;
  /** How long one delivery may take before it counts as failed. */
  timeoutMs: number;
}

export interface SandboxKnobs {
  /** How long an aggregate / identify / OAuth aggregation job takes. */
  aggregationMs: number;
  accountsPerMember: number;
  /** 0..100000; generated lazily by index, so large values cost nothing until read. */
  transactionsPerAccount: number;
  /** Pending transactions per account (the newest ones); they post with NEW guids on the next aggregation. */
  pendingPerAccount: number;
  /** A job starts this long after the request; until then status shows the old state. */
  jobStartDelayMs: number;
  /** No standard aggregation within this long after a successful one (MX: 3 h; `aggregate` still answers 202). 0 = off. */
  minAggregationIntervalMs: number;
  /** MX aggregates CONNECTED/UPDATED/CREATED members in the background about every 24 h. 0 = off. */
  backgroundAggregationIntervalMs: number;
  /** Days of transactions a standard aggregation holds (MX: about 90); extend_history makes 24 months available. */
  historyDays: number;
  /** Transaction list calls whose from_date…to_date span more days answer 400 (newer MX versions: ~183). 0 = off. */
  maxDateRangeDays: number;
  /**
   * The most transactions one list page holds, whatever `records_per_page` asks (MX: 1000). Lower it to get
   * many pages from few transactions (1 → a page per transaction): pages MX serves smaller than asked.
   */
  maxTransactionsPerPage: number;
  /** An unanswered challenge becomes EXPIRED after this long on the sandbox clock. */
  challengeExpiryMs: number;
  /** MFA members are challenged again on every foreground job (MX: any aggregation may be challenged). */
  challengeForegroundJobs: boolean;
  /** `is_being_aggregated` stays true while CHALLENGED, as MX says. */
  aggregatingWhileChallenged: boolean;
  /** aggregate/identify/extend_history while the same kind of job runs → 202 (MX) instead of 409. */
  sameKindJobAccepted: boolean;
  /** resume on a member that is not CHALLENGED → this status (MX: 405 "a constraint … wasn't met"). */
  resumeNotChallengedStatus: number;
  /** How long an oauth_window_uri (and its links) may be used. */
  oauthWindowTtlMs: number;
  /** The redirect says success but the aggregation after the OAuth sign-in ends FAILED (the redirect is a hint). */
  oauthAggregationFails: boolean;
  products: ProductKnobs;
  webhooks: WebhookKnobs;
  faults: FaultKnobs;
}

/** The MX-like world: what MX documents. */
export const MX_KNOBS: SandboxKnobs = {
  aggregationMs: 1500,
  accountsPerMember: 3,
  transactionsPerAccount: 120,
  pendingPerAccount: 3,
  jobStartDelayMs: 0,
  minAggregationIntervalMs: 3 * 3_600_000,
  backgroundAggregationIntervalMs: 24 * 3_600_000,
  historyDays: 90,
  maxDateRangeDays: 0,
  maxTransactionsPerPage: 1000,
  challengeExpiryMs: 5 * 60_000,
  challengeForegroundJobs: true,
  aggregatingWhileChallenged: true,
  sameKindJobAccepted: true,
  resumeNotChallengedStatus: 405,
  oauthWindowTtlMs: 10 * 60_000,
  oauthAggregationFails: false,
  products: { identity: true, extendedHistory: true },
  webhooks: {
    url: null,
    username: "mx-webhooks",
    password: "sandbox-webhook-password",
    dropRate: 0,
    duplicateRate: 0,
    outOfOrder: false,
    unknownField: false,
    nulls: false,
    timeoutMs: 5_000,
  },
  faults: {
    rate429: 0,
    rate5xx: 0,
    latencyMs: 0,
    retryAfterSeconds: null,
    burst429Rate: 0,
    burst429Length: 5,
    slowRate: 0,
    slowMs: 250,
    dropRate: 0,
  },
};

const faultsSchema = z.object({
  rate429: z.number().min(0).max(1),
  rate5xx: z.number().min(0).max(1),
  latencyMs: z.number().int().min(0).max(60_000),
  retryAfterSeconds: z.number().int().min(0).max(3600).nullable(),
  burst429Rate: z.number().min(0).max(1),
  burst429Length: z.number().int().min(1).max(1000),
  slowRate: z.number().min(0).max(1),
  slowMs: z.number().int().min(0).max(60_000),
  dropRate: z.number().min(0).max(1),
});

const fraction = z.number().min(0).max(1);
const DAY_MS = 86_400_000;

export const knobsSchema = z.object({
  aggregationMs: z.number().int().min(0).max(600_000),
  accountsPerMember: z.number().int().min(0).max(50),
  transactionsPerAccount: z.number().int().min(0).max(100_000),
  pendingPerAccount: z.number().int().min(0).max(1000),
  jobStartDelayMs: z.number().int().min(0).max(600_000),
  minAggregationIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(7 * DAY_MS),
  backgroundAggregationIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(30 * DAY_MS),
  historyDays: z.number().int().min(1).max(730),
  maxDateRangeDays: z.number().int().min(0).max(3650),
  maxTransactionsPerPage: z.number().int().min(1).max(1000),
  challengeExpiryMs: z.number().int().min(1).max(DAY_MS),
  challengeForegroundJobs: z.boolean(),
  aggregatingWhileChallenged: z.boolean(),
  sameKindJobAccepted: z.boolean(),
  resumeNotChallengedStatus: z.union([z.literal(405), z.literal(409), z.literal(422)]),
  oauthWindowTtlMs: z.number().int().min(1).max(DAY_MS),
  oauthAggregationFails: z.boolean(),
  products: z.object({ identity: z.boolean(), extendedHistory: z.boolean() }),
  webhooks: z.object({
    url: z.string().url().nullable(),
    username: z.string(),
    password: z.string(),
    dropRate: fraction,
    duplicateRate: fraction,
    outOfOrder: z.boolean(),
    unknownField: z.boolean(),
    nulls: z.boolean(),
    timeoutMs: z.number().int().min(1).max(60_000),
  }),
  faults: faultsSchema,
});

export type KnobsPatch = Partial<Omit<SandboxKnobs, "faults" | "products" | "webhooks">> & {
  faults?: Partial<FaultKnobs>;
  products?: Partial<ProductKnobs>;
  webhooks?: Partial<WebhookKnobs>;
};

/** Applies a patch on top of the current knobs; throws a clear error for a value out of range. */
export function mergeKnobs(current: SandboxKnobs, patch: KnobsPatch): SandboxKnobs {
  const merged = {
    ...current,
    ...patch,
    faults: { ...current.faults, ...patch.faults },
    products: { ...current.products, ...patch.products },
    webhooks: { ...current.webhooks, ...patch.webhooks },
  };
  const parsed = knobsSchema.safeParse(merged);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid MX sandbox knobs: ${detail}`);
  }
  return parsed.data;
}

/** The defaults: what MX documents (pass knobs for another world). */
export const DEFAULT_KNOBS: SandboxKnobs = MX_KNOBS;

const intFromEnv = z.coerce.number().int();
const numberFromEnv = z.coerce.number();

/** Environment variables main.ts reads (all optional): name → how to place it in the knobs patch. */
const ENV_KNOBS = {
  MX_SANDBOX_AGGREGATION_MS: (v: string, p: KnobsPatch) => {
    p.aggregationMs = intFromEnv.parse(v);
  },
  MX_SANDBOX_ACCOUNTS_PER_MEMBER: (v: string, p: KnobsPatch) => {
    p.accountsPerMember = intFromEnv.parse(v);
  },
  MX_SANDBOX_TRANSACTIONS_PER_ACCOUNT: (v: string, p: KnobsPatch) => {
    p.transactionsPerAccount = intFromEnv.parse(v);
  },
  MX_SANDBOX_PENDING_PER_ACCOUNT: (v: string, p: KnobsPatch) => {
    p.pendingPerAccount = intFromEnv.parse(v);
  },
  MX_SANDBOX_RATE_429: (v: string, p: KnobsPatch) => {
    p.faults = { ...p.faults, rate429: numberFromEnv.parse(v) };
  },
  MX_SANDBOX_RATE_5XX: (v: string, p: KnobsPatch) => {
    p.faults = { ...p.faults, rate5xx: numberFromEnv.parse(v) };
  },
  MX_SANDBOX_LATENCY_MS: (v: string, p: KnobsPatch) => {
    p.faults = { ...p.faults, latencyMs: intFromEnv.parse(v) };
  },
  MX_SANDBOX_RETRY_AFTER_SECONDS: (v: string, p: KnobsPatch) => {
    p.faults = { ...p.faults, retryAfterSeconds: intFromEnv.parse(v) };
  },
  MX_SANDBOX_JOB_START_DELAY_MS: (v: string, p: KnobsPatch) => {
    p.jobStartDelayMs = intFromEnv.parse(v);
  },
  MX_SANDBOX_MIN_AGGREGATION_INTERVAL_MS: (v: string, p: KnobsPatch) => {
    p.minAggregationIntervalMs = intFromEnv.parse(v);
  },
  MX_SANDBOX_HISTORY_DAYS: (v: string, p: KnobsPatch) => {
    p.historyDays = intFromEnv.parse(v);
  },
  MX_SANDBOX_MAX_DATE_RANGE_DAYS: (v: string, p: KnobsPatch) => {
    p.maxDateRangeDays = intFromEnv.parse(v);
  },
  MX_SANDBOX_CHALLENGE_EXPIRY_MS: (v: string, p: KnobsPatch) => {
    p.challengeExpiryMs = intFromEnv.parse(v);
  },
  MX_SANDBOX_OAUTH_WINDOW_TTL_MS: (v: string, p: KnobsPatch) => {
    p.oauthWindowTtlMs = intFromEnv.parse(v);
  },
  MX_SANDBOX_WEBHOOK_URL: (v: string, p: KnobsPatch) => {
    p.webhooks = { ...p.webhooks, url: v };
  },
  MX_SANDBOX_WEBHOOK_USERNAME: (v: string, p: KnobsPatch) => {
    p.webhooks = { ...p.webhooks, username: v };
  },
  MX_SANDBOX_WEBHOOK_PASSWORD: (v: string, p: KnobsPatch) => {
    p.webhooks = { ...p.webhooks, password: v };
  },
} as const;

/** Reads the knob variables from the environment; throws naming the variable when one is malformed. */
export function knobsPatchFromEnv(env: NodeJS.ProcessEnv): KnobsPatch {
  const patch: KnobsPatch = {};
  for (const [name, apply] of Object.entries(ENV_KNOBS)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    try {
      apply(value, patch);
    } catch {
      // Never echo a password-like value.
      const shown = name.includes("PASSWORD") ? "(hidden)" : JSON.stringify(value);
      throw new Error(`${name} must be a number (got ${shown})`);
    }
  }
  // Validate ranges now, so a bad value fails at start with the variable's meaning in the message.
  mergeKnobs(DEFAULT_KNOBS, patch);
  return patch;
}

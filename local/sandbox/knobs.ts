// The sandbox's knobs: the world a test or a benchmark asks for (size, timing, faults), validated once.
import * as z from "zod";

export interface FaultKnobs {
  /** Fraction (0..1) of API requests answered 429 with `Retry-After: retryAfterSeconds`. */
  rate429: number;
  /** Fraction (0..1) of API requests answered 503 or 500. */
  rate5xx: number;
  /** Delay added before every API request is handled. */
  latencyMs: number;
  retryAfterSeconds: number;
}

export interface SandboxKnobs {
  /** How long an aggregate / identify / OAuth aggregation job takes. */
  aggregationMs: number;
  accountsPerMember: number;
  /** 0..100000; generated lazily by index, so large values cost nothing until read. */
  transactionsPerAccount: number;
  /** Pending transactions per account (the newest ones); they post with NEW guids on the next aggregation. */
  pendingPerAccount: number;
  faults: FaultKnobs;
}

export const DEFAULT_KNOBS: SandboxKnobs = {
  aggregationMs: 1500,
  accountsPerMember: 3,
  transactionsPerAccount: 120,
  pendingPerAccount: 3,
  faults: { rate429: 0, rate5xx: 0, latencyMs: 0, retryAfterSeconds: 1 },
};

const faultsSchema = z.object({
  rate429: z.number().min(0).max(1),
  rate5xx: z.number().min(0).max(1),
  latencyMs: z.number().int().min(0).max(60_000),
  retryAfterSeconds: z.number().int().min(0).max(3600),
});

export const knobsSchema = z.object({
  aggregationMs: z.number().int().min(0).max(600_000),
  accountsPerMember: z.number().int().min(0).max(50),
  transactionsPerAccount: z.number().int().min(0).max(100_000),
  pendingPerAccount: z.number().int().min(0).max(1000),
  faults: faultsSchema,
});

export type KnobsPatch = Partial<Omit<SandboxKnobs, "faults">> & { faults?: Partial<FaultKnobs> };

/** Applies a patch on top of the current knobs; throws a clear error for a value out of range. */
export function mergeKnobs(current: SandboxKnobs, patch: KnobsPatch): SandboxKnobs {
  const merged = { ...current, ...patch, faults: { ...current.faults, ...patch.faults } };
  const parsed = knobsSchema.safeParse(merged);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid MX sandbox knobs: ${detail}`);
  }
  return parsed.data;
}

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
      throw new Error(`${name} must be a number (got ${JSON.stringify(value)})`);
    }
  }
  // Validate ranges now, so a bad value fails at start with the variable's meaning in the message.
  mergeKnobs(DEFAULT_KNOBS, patch);
  return patch;
}

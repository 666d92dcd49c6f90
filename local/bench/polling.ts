// Polling cost, simulated (no servers): how many MX status polls a run makes while MX aggregates, and how
// late it sees the end, with the product's growing jittered delay (nextPollDelaySeconds, as the Poll task
// computes it) versus polling every 3 s (MX's minimum interval).
//
// Model, as the state machine runs: the phase starts, Wait 3 s, Poll; while MX still aggregates, Wait the
// returned delay and Poll again. The aggregation began 0–3 s before the phase did (the API call, the
// execution start and Begin sit in between), so it ends at D − U(0, 3) s on the phase's clock. Lambda and
// Step Functions' own latency is left out (it adds the same to both policies).
import { DEFAULT_POLL_MAX_WAIT_SECONDS, nextPollDelaySeconds } from "../../shared/domain/connection";
import { mulberry32 } from "../sandbox/prng";
import type { BenchRow, BenchTable } from "./table";

/** MX asks integrators to wait at least 3 s between status polls; the first poll comes 3 s in. */
const FIRST_POLL_SECONDS = 3;
/** POLL_PHASE_LIMIT_SECONDS' default (shared/config.ts). */
const PHASE_LIMIT_SECONDS = 900;
/** Issue #13's goals: the end seen at most max(3 s, ¼ of the aggregation) late; ≤ 25 polls for 10 minutes. */
export const delayGoalSeconds = (durationSeconds: number) => Math.max(3, durationSeconds / 4);
const POLLS_GOAL = { durationSeconds: 600, polls: 25 };

export type PollPolicy = (elapsedSeconds: number, random: () => number) => number;

export const productPolicy: PollPolicy = (elapsed, random) =>
  nextPollDelaySeconds(elapsed, DEFAULT_POLL_MAX_WAIT_SECONDS, random);
export const fixedPolicy: PollPolicy = () => FIRST_POLL_SECONDS;

export interface PollTrial {
  polls: number;
  /** Seconds from the aggregation's end to the poll that saw it. */
  delaySeconds: number;
  /** The run gave up (still aggregating past the phase limit) before seeing the end. */
  timedOut: boolean;
}

/** One aggregation ending at `endSeconds` on the phase's clock. */
export function simulatePolling(endSeconds: number, policy: PollPolicy, random: () => number): PollTrial {
  let t = FIRST_POLL_SECONDS;
  let polls = 1;
  while (t < endSeconds) {
    // The Poll task rounds the elapsed time, and a phase still aggregating past the limit ends TIMED_OUT.
    const elapsed = Math.round(t);
    if (elapsed > PHASE_LIMIT_SECONDS) return { polls, delaySeconds: 0, timedOut: true };
    t += policy(elapsed, random);
    polls += 1;
  }
  return { polls, delaySeconds: t - endSeconds, timedOut: false };
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
}

interface Summary {
  meanPolls: number;
  p95Polls: number;
  maxPolls: number;
  meanDelay: number;
  p95Delay: number;
  maxDelay: number;
  timedOut: number;
}

function summarize(durationSeconds: number, policy: PollPolicy, trials: number, seed: number): Summary {
  // Same seed for both policies: they face the same aggregation ends.
  const ends = mulberry32(seed);
  const jitter = mulberry32(seed ^ 0x5eed);
  const results = Array.from({ length: trials }, () =>
    simulatePolling(durationSeconds - 3 * ends(), policy, jitter),
  );
  const seen = results.filter((trial) => !trial.timedOut);
  return {
    meanPolls: mean(results.map((trial) => trial.polls)),
    p95Polls: p95(results.map((trial) => trial.polls)),
    maxPolls: Math.max(...results.map((trial) => trial.polls)),
    meanDelay: seen.length ? mean(seen.map((trial) => trial.delaySeconds)) : 0,
    p95Delay: seen.length ? p95(seen.map((trial) => trial.delaySeconds)) : 0,
    maxDelay: seen.length ? Math.max(...seen.map((trial) => trial.delaySeconds)) : 0,
    timedOut: results.length - seen.length,
  };
}

export function benchPolling(
  options: { durations?: number[]; trials?: number; seed?: number } = {},
): BenchTable[] {
  const durations = options.durations ?? [10, 60, 300, 600];
  const trials = options.trials ?? 5_000;
  const seed = options.seed ?? 20111101;
  const goalRows: BenchRow[] = [];
  const costRows: BenchRow[] = [];
  const missed: string[] = [];
  let timedOut = 0;
  for (const duration of durations) {
    const product = summarize(duration, productPolicy, trials, seed + duration);
    const fixed = summarize(duration, fixedPolicy, trials, seed + duration);
    timedOut += product.timedOut + fixed.timedOut;
    const label = `${duration} s aggregation`;
    const goal = delayGoalSeconds(duration);
    if (product.maxDelay > goal) missed.push(`${label}: seen up to ${product.maxDelay.toFixed(1)} s late`);
    goalRows.push({
      metric: `${label}: seen after (s), max`,
      figure: product.maxDelay,
      baseline: goal,
      digits: 1,
    });
    if (duration === POLLS_GOAL.durationSeconds) {
      if (product.maxPolls > POLLS_GOAL.polls) missed.push(`${label}: up to ${product.maxPolls} polls`);
      goalRows.push({ metric: `${label}: polls, max`, figure: product.maxPolls, baseline: POLLS_GOAL.polls });
    }
    costRows.push(
      { metric: `${label}: polls, mean`, figure: product.meanPolls, baseline: fixed.meanPolls, digits: 1 },
      { metric: `${label}: polls, max`, figure: product.maxPolls, baseline: fixed.maxPolls },
      {
        metric: `${label}: seen after (s), mean`,
        figure: product.meanDelay,
        baseline: fixed.meanDelay,
        digits: 2,
      },
      {
        metric: `${label}: seen after (s), p95`,
        figure: product.p95Delay,
        baseline: fixed.p95Delay,
        digits: 2,
      },
      {
        metric: `${label}: seen after (s), max`,
        figure: product.maxDelay,
        baseline: fixed.maxDelay,
        digits: 2,
      },
    );
  }
  const model = `${trials.toLocaleString("en-US")} trials per duration, seeded (${seed}); aggregation ends D − U(0, 3) s after the phase starts.`;
  const policy = `Product: nextPollDelaySeconds(elapsed, ${DEFAULT_POLL_MAX_WAIT_SECONDS}) (≥ 3 s, else ≤ ¼ of elapsed, jittered down ≤ 10 %, capped); runs timed out: ${timedOut}.`;
  return [
    {
      title:
        "Polling against the goals (simulated): the end seen ≤ max(3 s, ¼ of the aggregation) late, ≤ 25 polls for 10 min",
      figureLabel: "product, worst trial",
      baselineLabel: "goal",
      rows: goalRows,
      notes: [
        missed.length
          ? `Goals missed: ${missed.join("; ")}.`
          : "Every goal met (ratio ≤ 1.00× in every row).",
        model,
        policy,
      ],
    },
    {
      title: "Polling cost (simulated)",
      figureLabel: "product",
      baselineLabel: "fixed 3 s",
      rows: costRows,
      notes: [model],
    },
  ];
}

// How much of an invocation's time its MX calls may use. A Lambda that is still waiting on MX when its
// timeout strikes dies without an answer: API Gateway then sends its own bare 500/503, a workflow task
// fails as a crash (Sandbox.Timedout) instead of as MX being slow. So the MX client's budget ends
// earlier, leaving the function time to store what it read, map the failure and answer: a tenth of its
// time, at least 1 s and at most 5 s (2.9 s of an MX route's 29 s; 3 s of a sync task's 30 s).
// Plain numbers and functions: the Lambda adapter (shared/lambda/mx.ts) passes its context's
// getRemainingTimeInMillis, domain code never sees a Lambda type.

export const MX_BUDGET_RESERVE = { fraction: 0.1, minMs: 1_000, maxMs: 5_000 } as const;

/** What an invocation of `invocationMs` keeps for itself after its last MX call. */
export function mxBudgetReserveMs(invocationMs: number): number {
  const { fraction, minMs, maxMs } = MX_BUDGET_RESERVE;
  return Math.min(maxMs, Math.max(minMs, Math.round(invocationMs * fraction)));
}

/**
 * The MX client's `remainingMs` for one invocation: its remaining time less the reserve, sized from the
 * time it had when this was called (its start).
 */
export function mxBudget(remainingTimeMs: () => number): () => number {
  const reserve = mxBudgetReserveMs(remainingTimeMs());
  return () => remainingTimeMs() - reserve;
}

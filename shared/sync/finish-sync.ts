// Finish: write the run's outcome on the member (status, human reason, counts, timing, last sync), drop
// the pending transactions MX no longer reports, and release the lease.
import { CONNECTION_REASONS } from "../domain/connection";
import type { BankDataStore, MemberStore, SyncState } from "../storage/ports";
import type { FinishInput } from "./contract";
import { describeFailure } from "./failure";
import { MEMBER_NOT_FOUND, MX_UNAUTHORIZED } from "./poll-member";
import { type Clock, systemClock } from "./time";

/** Reasons for ends that are not MX connection statuses. */
const OTHER_REASONS: Record<string, string> = {
  [MEMBER_NOT_FOUND]: "This connection no longer exists at MX. Connect the bank again.",
  [MX_UNAUTHORIZED]: "The service could not authenticate with MX. Try again later.",
  CHALLENGE_TIMED_OUT: CONNECTION_REASONS.EXPIRED ?? "The security question was not answered in time.",
  // NEEDS_USER after the workflow's last MFA round: the bank kept asking.
  CHALLENGED: "The bank kept asking security questions. Ask the user to connect again.",
  NEEDS_USER: "The bank needs the user to act before connecting again.",
  MX_TRANSIENT: "MX was unavailable. Try again later.",
  TASK_TIMED_OUT: "The sync took too long. Try again later.",
  UNEXPECTED: "The sync failed unexpectedly. Try again later.",
};

const TRANSIENT_ERRORS = new Set([
  "MxRateLimitedError",
  "MxUnavailableError",
  "MxTimeoutError",
  "MxNetworkError",
]);

function reasonFor(input: FinishInput): string | undefined {
  const status = input.connectionStatus;
  switch (input.outcome) {
    case "SYNCED":
    case "ALREADY_RUNNING":
      return undefined;
    case "TIMED_OUT":
      return status === "CHALLENGED"
        ? OTHER_REASONS.CHALLENGE_TIMED_OUT
        : (CONNECTION_REASONS.TIMED_OUT ?? OTHER_REASONS.TASK_TIMED_OUT);
    case "NEEDS_USER":
    case "FAILED": {
      const known = status ? (CONNECTION_REASONS[status] ?? OTHER_REASONS[status]) : undefined;
      if (known) return known;
      const errorName = input.error?.Error;
      if (errorName && TRANSIENT_ERRORS.has(errorName)) return OTHER_REASONS.MX_TRANSIENT;
      if (errorName === "States.Timeout") return OTHER_REASONS.TASK_TIMED_OUT;
      if (input.outcome === "NEEDS_USER") return OTHER_REASONS.NEEDS_USER;
      // An MX end state without a reason of its own (DEGRADED, IMPORTED, …) reads like a failed connection.
      if (status && !input.error) return CONNECTION_REASONS.FAILED ?? OTHER_REASONS.UNEXPECTED;
      return OTHER_REASONS.UNEXPECTED;
    }
  }
}

export interface FinishSyncResult {
  outcome: FinishInput["outcome"];
  /** False when this run no longer held the member (a newer run took over, or the member was deleted). */
  recorded: boolean;
}

export async function finishSync(
  deps: { members: MemberStore; bankData: BankDataStore; clock?: Clock },
  input: FinishInput,
): Promise<FinishSyncResult> {
  const { request, syncRun, outcome } = input;
  // Another run owns the member: its record is not ours to touch.
  if (outcome === "ALREADY_RUNNING") return { outcome, recorded: false };

  const now = (deps.clock ?? systemClock)();
  const pages = input.counts?.transactionPages ?? [];
  const result: Partial<SyncState> = {
    status: outcome,
    outcome,
    reason: reasonFor(input),
    finishedAt: now.toISOString(),
    durationMs: input.startedAt === undefined ? undefined : Math.max(0, now.getTime() - input.startedAt),
    counts: input.counts && {
      owners: input.counts.owners,
      accounts: input.counts.accounts,
      transactions: pages.reduce((sum, stored) => sum + stored, 0),
    },
    lastSyncedAt: outcome === "SYNCED" ? now.toISOString() : undefined,
    error: input.error && describeFailure(input.error),
  };

  // Only a run that read every page of its window knows which stored pending transactions vanished.
  // Done before the record says SYNCED, so the app never sees SYNCED next to stale pending rows.
  if (outcome === "SYNCED" && input.window) {
    await deps.bankData.removeVanishedPending(
      request.userId,
      request.memberGuid,
      input.window.from,
      input.window.to,
      syncRun,
    );
  }
  const recorded = await deps.members.finishSync(request.userId, request.memberGuid, syncRun, result);
  return { outcome, recorded };
}

// Finish: write the run's outcome on the member (status, human reason, counts, timing, last sync), drop
// the pending transactions MX no longer reports, and release the lease.
import { aggregationDeclinedNote } from "../domain/connection";
import { syncEndReason } from "../domain/sync";
import type { EventPublisher } from "../events/ports";
import type { SyncHistory } from "../history/ports";
import type { BankDataStore, MemberStore, SyncState } from "../storage/ports";
import { type FinishInput, TRANSIENT_MX_ERRORS } from "./contract";
import { describeFailure } from "./failure";
import { reportRun } from "./report-run";
import { type Clock, systemClock } from "./time";

/**
 * A transient MX error seen by Finish: the names the state machine retries, and a network error a task
 * reported before its middleware renamed it.
 */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([...TRANSIENT_MX_ERRORS, "MxNetworkError"]);

export interface FinishSyncResult {
  outcome: FinishInput["outcome"];
  /** False when this run no longer held the member (a newer run took over, or the member was deleted). */
  recorded: boolean;
}

export async function finishSync(
  deps: {
    members: MemberStore;
    bankData: BankDataStore;
    clock?: Clock;
    /** The run's history record and the app's events (shared/sync/report-run.ts): after the record. */
    history?: SyncHistory;
    events?: EventPublisher;
  },
  input: FinishInput,
): Promise<FinishSyncResult> {
  const { request, syncRun, outcome } = input;
  // Another run owns the member: its record is not ours to touch.
  if (outcome === "ALREADY_RUNNING") return { outcome, recorded: false };

  const now = (deps.clock ?? systemClock)();
  const pages = input.counts?.transactionPages ?? [];
  const synced = outcome === "SYNCED";
  // A synced run says whether MX aggregated for it or declined (the data is then as of dataAsOf).
  const aggregation = synced ? (input.aggregation ?? "AGGREGATED") : undefined;
  const result: Partial<SyncState> = {
    status: outcome,
    outcome,
    reason:
      aggregation === "DECLINED"
        ? aggregationDeclinedNote(input.dataAsOf)
        : syncEndReason(
            {
              outcome,
              connectionStatus: input.connectionStatus,
              errorName: input.error?.Error,
              failedOnError: input.error !== undefined,
            },
            TRANSIENT_ERRORS,
          ),
    aggregation,
    // MX's own freshness of what this run stored (null: MX never aggregated; the last value stays).
    dataAsOf: synced ? (input.dataAsOf ?? undefined) : undefined,
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
  let removed = 0;
  if (outcome === "SYNCED" && input.window) {
    removed = await deps.bankData.removeVanishedPending(
      request.userId,
      request.memberGuid,
      input.window.from,
      input.window.to,
      syncRun,
    );
  }
  const recorded = await deps.members.finishSync(request.userId, request.memberGuid, syncRun, result);
  // A run that no longer held the member is not the member's latest: it is neither history nor news.
  if (recorded) await reportRun(deps, input, { outcome, reason: result.reason, removed, now });
  return { outcome, recorded };
}

// After a run's outcome is recorded on the member: its history record and the app's event (member.synced,
// member.needs_user). `reportSyncEnd` is the one place both are built: the workflow's Finish (`reportRun`)
// and the background refresh call it.
import type { SyncTrigger } from "../domain/triggers";
import type { EventPublisher } from "../events/ports";
import type { SyncHistory, SyncRun } from "../history/ports";
import type { FinishInput } from "./contract";

export interface ReportDeps {
  history?: SyncHistory;
  events?: EventPublisher;
}

/** A run that ended, as recorded: what its history shows and what its event says. */
export interface SyncEnd {
  userId: string;
  memberGuid: string;
  run: SyncRun;
  /** MX's connection status at the end (in member.needs_user). */
  connectionStatus?: string | undefined;
}

/** Records the run in the member's history, then tells the app when it synced or needs the user. */
export async function reportSyncEnd(deps: ReportDeps, end: SyncEnd): Promise<void> {
  const { userId, memberGuid, run } = end;
  await deps.history?.recordRun(userId, memberGuid, run);
  const member = { user_id: userId, member_guid: memberGuid };
  if (run.outcome === "SYNCED") {
    await deps.events?.publish({
      type: "member.synced",
      detail: {
        ...member,
        trigger: run.trigger,
        synced_at: run.finishedAt,
        changes_available: true,
        counts: { rows_written: run.rows.written, rows_removed: run.rows.removed },
      },
    });
  } else if (run.outcome === "NEEDS_USER") {
    await deps.events?.publish({
      type: "member.needs_user",
      detail: {
        ...member,
        ...(end.connectionStatus ? { connection_status: end.connectionStatus } : {}),
        reason: run.reason ?? "The bank needs the user to act before connecting again.",
        occurred_at: run.finishedAt,
      },
    });
  }
}

/** Finish's report: the run's figures from its input, its MX calls from the run's counter. */
export async function reportRun(
  deps: ReportDeps,
  input: FinishInput,
  end: { outcome: string; reason: string | undefined; removed: number; now: Date },
): Promise<void> {
  const { request, syncRun } = input;
  const counts = input.counts;
  const written =
    (counts?.owners ?? 0) +
    (counts?.accounts ?? 0) +
    (counts?.transactionPages ?? []).reduce((a, b) => a + b, 0);
  const finishedAt = end.now.toISOString();
  const mxCalls = await deps.history?.mxCallsOf(request.userId, request.memberGuid, syncRun);
  const trigger: SyncTrigger = request.trigger;
  await reportSyncEnd(deps, {
    userId: request.userId,
    memberGuid: request.memberGuid,
    connectionStatus: input.connectionStatus,
    run: {
      runId: syncRun,
      trigger,
      // A run that failed before Begin has no start of its own: it started and ended at once.
      startedAt: input.startedAt === undefined ? finishedAt : new Date(input.startedAt).toISOString(),
      finishedAt,
      outcome: end.outcome,
      ...(end.reason ? { reason: end.reason } : {}),
      rows: { written, removed: end.removed },
      // Every task that called MX added its requests (Finish itself calls none); none counted = 0.
      mxCalls: mxCalls ?? 0,
    },
  });
}

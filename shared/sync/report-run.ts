// After Finish recorded a run: its history record and the app's event (member.synced / member.needs_user).
import type { SyncOutcome } from "../domain/sync";
import type { EventPublisher } from "../events/ports";
import type { SyncHistory } from "../history/ports";
import type { FinishInput } from "./contract";

export async function reportRun(
  deps: { history?: SyncHistory; events?: EventPublisher },
  input: FinishInput,
  end: { outcome: SyncOutcome; reason: string | undefined; removed: number; now: Date },
): Promise<void> {
  const { request, syncRun } = input;
  const counts = input.counts;
  const written =
    (counts?.owners ?? 0) +
    (counts?.accounts ?? 0) +
    (counts?.transactionPages ?? []).reduce((a, b) => a + b, 0);
  const finishedAt = end.now.toISOString();
  const mxCalls = await deps.history?.mxCallsOf(request.userId, request.memberGuid, syncRun);
  await deps.history?.recordRun(request.userId, request.memberGuid, {
    runId: syncRun,
    trigger: request.trigger,
    // A run that failed before Begin has no start of its own: it started and ended at once.
    startedAt: input.startedAt === undefined ? finishedAt : new Date(input.startedAt).toISOString(),
    finishedAt,
    outcome: end.outcome,
    ...(end.reason ? { reason: end.reason } : {}),
    rows: { written, removed: end.removed },
    // Every task that called MX added its requests (Finish itself calls none); none counted = 0.
    mxCalls: mxCalls ?? 0,
  });
  const member = { user_id: request.userId, member_guid: request.memberGuid };
  if (end.outcome === "SYNCED") {
    await deps.events?.publish({
      type: "member.synced",
      detail: {
        ...member,
        trigger: request.trigger,
        synced_at: finishedAt,
        changes_available: true,
        counts: { rows_written: written, rows_removed: end.removed },
      },
    });
  } else if (end.outcome === "NEEDS_USER") {
    await deps.events?.publish({
      type: "member.needs_user",
      detail: {
        ...member,
        ...(input.connectionStatus ? { connection_status: input.connectionStatus } : {}),
        reason: end.reason ?? "The bank needs the user to act before connecting again.",
        occurred_at: finishedAt,
      },
    });
  }
}

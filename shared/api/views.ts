// What the API shows of a stored member: MX's connection status and the latest sync run, snake_case like
// MX. Never the task token, never a challenge answer (none is ever stored).

import type * as z from "zod";
import { isUnsyncedEnd } from "../domain/sync";
import type { SyncRun } from "../history/ports";
import type { MemberRecord } from "../storage/ports";
import type { MemberView, syncRunViewSchema } from "./schemas";

type SyncRunView = z.infer<typeof syncRunViewSchema>;

export function memberView(member: MemberRecord): MemberView {
  const { sync } = member;
  // A reason only explains an ended, unsuccessful run; a stale one must not show while a new run works.
  // It is computed once, when the run ends (shared/domain/sync.ts), and stored with the outcome.
  // A synced run on data MX did not refresh (it declined the aggregation) says so, with MX's data time.
  const declined = sync.status === "SYNCED" && sync.aggregation === "DECLINED";
  const reason = isUnsyncedEnd(sync.status) || declined ? (sync.reason ?? null) : null;
  const waiting = sync.status === "CHALLENGED" && (member.challenges?.length ?? 0) > 0;
  return {
    guid: member.memberGuid,
    institution_code: member.institutionCode,
    is_oauth: member.isOauth,
    identify: member.identify,
    connection_status: member.connectionStatus ?? null,
    challenges_waiting: waiting,
    // The prompts as MX shaped them, so an app polling the member can show them without another call.
    ...(waiting && member.challenges ? { challenges: member.challenges } : {}),
    needs_user_action: sync.status === "NEEDS_USER",
    deleting: member.deletingAt !== undefined,
    sync: {
      status: sync.status,
      counts: sync.counts ?? null,
      started_at: sync.startedAt ?? null,
      finished_at: sync.finishedAt ?? null,
      last_synced_at: sync.lastSyncedAt ?? null,
      reason,
      aggregation: sync.aggregation ?? null,
      data_as_of: sync.dataAsOf ?? null,
      consecutive_failures: sync.consecutiveFailures ?? 0,
    },
    history_from: member.historyFrom ?? null,
    products: {
      ...(member.products?.identity ? { identity: member.products.identity } : {}),
      ...(member.products?.extendedHistory ? { extended_history: member.products.extendedHistory } : {}),
    },
    created_at: member.createdAt,
    updated_at: member.updatedAt,
  };
}

/** One run of the member's sync history, as GET /v1/members/{guid}/syncs shows it. */
export function syncRunView(run: SyncRun): SyncRunView {
  return {
    run_id: run.runId,
    trigger: run.trigger,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    outcome: run.outcome,
    reason: run.reason ?? null,
    rows_written: run.rows.written,
    rows_removed: run.rows.removed,
    mx_calls: run.mxCalls ?? null,
  };
}

// What the API shows of a stored member: MX's connection status and the latest sync run, snake_case like
// MX. Never the task token, never a challenge answer (none is ever stored).
import { isUnsyncedEnd } from "../domain/sync";
import type { MemberRecord } from "../storage/ports";
import type { MemberView } from "./schemas";

export function memberView(member: MemberRecord): MemberView {
  const { sync } = member;
  // A reason only explains an ended, unsuccessful run; a stale one must not show while a new run works.
  // It is computed once, when the run ends (shared/domain/sync.ts), and stored with the outcome.
  const reason = isUnsyncedEnd(sync.status) ? (sync.reason ?? null) : null;
  return {
    guid: member.memberGuid,
    institution_code: member.institutionCode,
    is_oauth: member.isOauth,
    identify: member.identify,
    connection_status: member.connectionStatus ?? null,
    challenges_waiting: sync.status === "CHALLENGED" && (member.challenges?.length ?? 0) > 0,
    sync: {
      status: sync.status,
      counts: sync.counts ?? null,
      started_at: sync.startedAt ?? null,
      finished_at: sync.finishedAt ?? null,
      last_synced_at: sync.lastSyncedAt ?? null,
      reason,
    },
    created_at: member.createdAt,
    updated_at: member.updatedAt,
  };
}

// DELETE /v1/members/{guid}: the member is marked DELETING (one conditional write: idempotent, and from
// then on no sync takes its lease or writes a row of it), the run that held it is stopped, the member is
// deleted at MX, and its purge is queued; the rows go in the background (purge-member.ts).
import type { MemberView } from "../api/schemas";
import { memberView } from "../api/views";
import { MemberNotFoundError } from "../domain/errors";
import type { MxApi } from "../mx/api";
import { MxNotFoundError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import type { PurgeQueue } from "./purge-queue";
import { MEMBER_PURGE } from "./settings";

export interface DeleteMemberDeps {
  mx: MxApi;
  members: MemberStore;
  /** Stops the sync execution of that name; resolves when it is stopped or already ended. */
  stopRun: (syncRun: string) => Promise<void>;
  purgeQueue: PurgeQueue;
}

/**
 * Every step is safe to repeat: a DELETE that failed half way (MX unavailable, say) leaves the member
 * DELETING, and the app's retry does it all again (202); once the purge has ended, the member is 404.
 */
export async function deleteMember(
  deps: DeleteMemberDeps,
  userId: string,
  memberGuid: string,
): Promise<MemberView> {
  // Keyed by user: another user's guid is missing here too, and answers the same 404.
  const before = await deps.members.markDeleting(userId, memberGuid);
  if (!before) throw new MemberNotFoundError();
  // The mark took the lease away already; stopping the run also ends its MX polling and pending waits.
  if (before.sync.syncRun) await deps.stopRun(before.sync.syncRun);
  // At MX first, while the member is still ours to name: MX stops aggregating it at once. Already gone
  // (a retried DELETE) is done.
  try {
    await deps.mx.deleteMember(before.mxUserGuid, memberGuid);
  } catch (error) {
    if (!(error instanceof MxNotFoundError)) throw error;
  }
  await deps.purgeQueue.send({ kind: "purgeMember", userId, memberGuid }, MEMBER_PURGE.startDelaySeconds);
  const marked = await deps.members.getMember(userId, memberGuid);
  if (!marked) throw new MemberNotFoundError();
  return memberView(marked);
}

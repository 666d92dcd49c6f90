// Start a sync run for a member (the API: after a member is created, after OAuth, on a user's refresh).
// The caller names the run; a name already used means the run was already started, which is fine.
import { NotFoundError } from "../api/errors";
import type { MemberStore } from "../storage/ports";
import type { SyncRequest } from "./contract";
import { EXECUTION_NAME_PATTERN } from "./names";
import type { SfnPort } from "./sfn";

export interface StartSyncInput {
  userId: string;
  memberGuid: string;
  mode: SyncRequest["mode"];
  /** The run's id: letters, digits, `-` and `_`, at most 80. Reusing one starts nothing. */
  executionName: string;
}

export interface StartSyncResult {
  executionName: string;
  /** False when a run of that name already existed. */
  started: boolean;
}

export async function startSync(
  deps: { members: MemberStore; sfn: SfnPort },
  input: StartSyncInput,
): Promise<StartSyncResult> {
  if (!EXECUTION_NAME_PATTERN.test(input.executionName)) {
    throw new RangeError("executionName must be 1-80 letters, digits, '-' or '_'");
  }
  const member = await deps.members.getMember(input.userId, input.memberGuid);
  if (!member) throw new NotFoundError("Member not found.");
  const request: SyncRequest = {
    userId: member.userId,
    mxUserGuid: member.mxUserGuid,
    memberGuid: member.memberGuid,
    identify: member.identify,
    mode: input.mode,
  };
  const { started } = await deps.sfn.startExecution(input.executionName, request);
  return { executionName: input.executionName, started };
}

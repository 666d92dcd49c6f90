// Starting a member's sync run (the API after a create, after OAuth and on a user's refresh; the scheduled
// refresh): the one place the workflow's input is built from a stored member.
import type { MemberRecord } from "../storage/ports";
import type { SyncRequest } from "./contract";
import type { SfnPort } from "./sfn";

type MemberFields = Pick<MemberRecord, "userId" | "mxUserGuid" | "memberGuid" | "identify">;

/** The state machine's input for a run of `member`. Guids and flags only: never a credential. */
export const syncRequestFor = (
  member: MemberFields,
  mode: SyncRequest["mode"],
  overrides: Partial<Pick<SyncRequest, "identify" | "trigger">> = {},
): SyncRequest => ({
  userId: member.userId,
  mxUserGuid: member.mxUserGuid,
  memberGuid: member.memberGuid,
  identify: member.identify,
  mode,
  trigger: "create",
  ...overrides,
});

/**
 * Starts the run named `executionName` (shared/sync/names.ts) for `member`. A name already used starts
 * nothing and resolves `started: false`: a retried or overlapping start is not an error.
 */
export function startSync(
  sfn: SfnPort,
  member: MemberFields,
  mode: SyncRequest["mode"],
  executionName: string,
  overrides?: Partial<Pick<SyncRequest, "identify" | "trigger">>,
): Promise<{ started: boolean }> {
  return sfn.startExecution(executionName, syncRequestFor(member, mode, overrides));
}

// ExtendHistory: ask MX for up to 24 months of transactions (extended history) on a member's first sync.
// A job like aggregate (it may be CHALLENGED: the MFA path follows); outside the client's contract (403) or
// not offered by the institution (400) the sync goes on with standard history, and the member says so.
import type { MxApi } from "../mx/api";
import type { MemberStore } from "../storage/ports";
import type { JobOutput, TaskBase } from "./contract";
import { startMemberJob } from "./member-job";
import type { Clock } from "./time";

export function extendHistory(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  input: TaskBase,
): Promise<JobOutput> {
  return startMemberJob(deps, input, {
    kind: "history",
    product: "extendedHistory",
    ask: (userGuid, memberGuid) => deps.mx.extendHistory(userGuid, memberGuid),
  });
}

// Identify: ask MX for the account owners' identity data (AOI). MX works on it like an aggregation, so a
// new polling phase follows; outside the client's contract (403) the sync goes on without owners.
import type { MxApi } from "../mx/api";
import type { MemberStore } from "../storage/ports";
import type { JobOutput, TaskBase } from "./contract";
import { startMemberJob } from "./member-job";
import type { Clock } from "./time";

export function identifyMember(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  input: TaskBase,
): Promise<JobOutput> {
  return startMemberJob(deps, input, {
    kind: "identify",
    product: "identity",
    ask: (userGuid, memberGuid) => deps.mx.identifyMember(userGuid, memberGuid),
  });
}

// Identify: ask MX for the account owners' identity data (AOI). MX works on it like an aggregation, so a
// new polling phase starts now.
import type { MxApi } from "../mx/api";
import { MxConflictError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import type { TaskBase } from "./contract";
import { type Clock, systemClock } from "./time";

export async function identifyMember(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  { request, syncRun }: TaskBase,
): Promise<{ phaseStartedAt: number }> {
  try {
    await deps.mx.identifyMember(request.mxUserGuid, request.memberGuid);
  } catch (error) {
    // 409: a job is already running on the member; polling waits for it either way.
    if (!(error instanceof MxConflictError)) throw error;
  }
  await deps.members.updateSync(request.userId, request.memberGuid, syncRun, { status: "CONNECTING" });
  return { phaseStartedAt: (deps.clock ?? systemClock)().getTime() };
}

// Begin: take the member's sync lease (one running sync per member), ask MX to aggregate on a refresh,
// and pick the run's transaction window.
import type { MxApi } from "../mx/api";
import { MxConflictError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import type { BeginSyncOutput, TaskBase } from "./contract";
import { type Clock, systemClock, utcDay } from "./time";

export interface BeginSyncOptions {
  leaseSeconds: number;
  initialHistoryDays: number;
  refreshWindowDays: number;
}

/** MX dates transactions up to a few days ahead (pending, scheduled): the window ends 5 days after today. */
const DAYS_AHEAD = 5;

export async function beginSync(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  { request, syncRun }: TaskBase,
  options: BeginSyncOptions,
): Promise<BeginSyncOutput> {
  const now = (deps.clock ?? systemClock)();
  const daysBack = request.mode === "refresh" ? options.refreshWindowDays : options.initialHistoryDays;
  const window = { from: utcDay(now, -daysBack), to: utcDay(now, DAYS_AHEAD) };
  const startedAt = now.getTime();

  // Re-running Begin for the same run (a Lambda retry) finds the lease already ours.
  const acquired = await deps.members.acquireSyncLease(
    request.userId,
    request.memberGuid,
    syncRun,
    options.leaseSeconds * 1000,
    now,
  );
  if (!acquired) return { acquired, startedAt, window };

  await deps.members.updateSync(request.userId, request.memberGuid, syncRun, {
    status: "CONNECTING",
    startedAt: now.toISOString(),
  });
  if (request.mode === "refresh") {
    try {
      await deps.mx.aggregateMember(request.mxUserGuid, request.memberGuid);
    } catch (error) {
      // 409: an aggregation is already running (MX's own schedule, a user's refresh): polling follows it.
      if (!(error instanceof MxConflictError)) throw error;
    }
  }
  return { acquired, startedAt, window };
}

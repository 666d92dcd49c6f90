// Begin: take the member's sync lease (one running sync per member), ask MX to aggregate on a refresh
// (after reading MX's freshness, the baseline the job's end is judged by), and pick the run's windows.
import type { MxApi } from "../mx/api";
import { MxConflictError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import type { BeginSyncOutput, TaskBase } from "./contract";
import { type Clock, systemClock, utcDay } from "./time";

export interface BeginSyncOptions {
  leaseSeconds: number;
  initialHistoryDays: number;
  refreshWindowDays: number;
  /** Ask MX for extended history after the first aggregation (default off). */
  extendedHistory?: boolean;
}

/** MX dates transactions up to a few days ahead (pending, scheduled): the window ends 5 days after today. */
const DAYS_AHEAD = 5;

/**
 * The longest span (to − from, in days) one transaction list call asks for: newer MX versions refuse
 * ranges over about six months, so a longer window is read as several of these.
 */
export const MAX_TRANSACTION_WINDOW_DAYS = 180;

const DAY_MS = 86_400_000;

/** [from, to] cut into spans of at most `maxDays` (to − from), newest first, each day in exactly one. */
export function splitWindow(
  window: { from: string; to: string },
  maxDays = MAX_TRANSACTION_WINDOW_DAYS,
): { from: string; to: string }[] {
  const first = Date.parse(`${window.from}T00:00:00Z`);
  const spans: { from: string; to: string }[] = [];
  for (let to = Date.parse(`${window.to}T00:00:00Z`); to >= first; to -= (maxDays + 1) * DAY_MS) {
    const from = Math.max(first, to - maxDays * DAY_MS);
    spans.push({ from: utcDay(new Date(from)), to: utcDay(new Date(to)) });
  }
  return spans;
}

export async function beginSync(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  { request, syncRun }: TaskBase,
  options: BeginSyncOptions,
): Promise<BeginSyncOutput> {
  const now = (deps.clock ?? systemClock)();
  const refresh = request.mode === "refresh";
  const daysBack = refresh ? options.refreshWindowDays : options.initialHistoryDays;
  const window = { from: utcDay(now, -daysBack), to: utcDay(now, DAYS_AHEAD) };
  const run = {
    startedAt: now.getTime(),
    window,
    windows: splitWindow(window),
    // A brand-new member's job was asked for when it was created: any successful aggregation is it.
    baseline: null as string | null,
    // Extended history is asked once, on the first sync; later refreshes keep what it brought.
    extendHistory: !refresh && (options.extendedHistory ?? false),
  };

  // Re-running Begin for the same run (a Lambda retry) finds the lease already ours.
  const acquired = await deps.members.acquireSyncLease(
    request.userId,
    request.memberGuid,
    syncRun,
    options.leaseSeconds * 1000,
    now,
  );
  if (!acquired) return { acquired, ...run };

  await deps.members.updateSync(request.userId, request.memberGuid, syncRun, {
    status: "CONNECTING",
    startedAt: now.toISOString(),
  });
  if (refresh) {
    // Read before asking: the job is done once MX reports a later successful aggregation than this.
    const before = await deps.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    run.baseline = before.successfully_aggregated_at ?? null;
    try {
      // MX answers 202 even when it declines (3-hour rule) and for a job of the same kind already
      // running: polling tells which.
      const accepted = await deps.mx.aggregateMember(request.mxUserGuid, request.memberGuid);
      // MX says the job is under way: its end is the next idle CONNECTED, even within the same second
      // as the last success (MX's timestamps have whole seconds).
      if (accepted.is_being_aggregated) run.baseline = null;
    } catch (error) {
      // 409: another kind of job runs (identify, extend_history): polling follows it to its end.
      if (!(error instanceof MxConflictError)) throw error;
    }
  }
  return { acquired, ...run };
}

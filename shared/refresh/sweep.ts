// The sweep, the fallback for lost webhooks (MX: do not rely on webhooks alone): pages through the members
// in the sparse refresh index and enqueues each for a background refresh, spread over time with SQS
// DelaySeconds. One pass enqueues at most 900 s (and `sweepPassMembers`) of members, then its own continuation,
// due when the last of them is: a million members flow at a steady rate without one long invocation.
// At most one sweep runs at a time (the sweep lease): a scheduled start that finds one running does nothing,
// or every member would be enqueued twice. Its pace is derived from the previous sweep's member count so that
// it ends within `sweepCadenceShare` of the cadence, between the configured floor and what the consumer absorbs.
import type { MemberStore, SweepLeaseStore } from "../storage/ports";
import type { RefreshMessage, RefreshQueue } from "./messages";
import { BACKGROUND_REFRESH, MAX_DELAY_SECONDS } from "./settings";

export interface SweepDeps {
  members: MemberStore;
  queue: RefreshQueue;
  sweeps: SweepLeaseStore;
}

/** What a pass did: members enqueued, and where the next pass starts (already enqueued), none at the end. */
export interface SweepPass {
  enqueued: number;
  cursor?: string;
}

export type SweepStart =
  | ({ started: true; sweepId: string; membersPerSecond: number } & SweepPass)
  | { started: false; runningSweep: string };

/** Page and pass sizes (defaults in settings; tests make them small). */
export interface PassOptions {
  pageSize?: number;
  passMembers?: number;
}

type SweepState = NonNullable<Extract<RefreshMessage, { kind: "sweep" }>["sweep"]>;

/**
 * Members a second for a sweep after one that swept `lastCount` members, at a cadence of `everyHours`:
 * enough to finish within `sweepCadenceShare` of it, never below the floor nor above the consumer's cap.
 */
export function sweepPace(lastCount: number | undefined, everyHours: number): number {
  const { sweepMembersPerSecond, sweepMaxMembersPerSecond, sweepCadenceShare } = BACKGROUND_REFRESH;
  const needed = Math.ceil((lastCount ?? 0) / (everyHours * 3600 * sweepCadenceShare));
  return Math.min(sweepMaxMembersPerSecond, Math.max(sweepMembersPerSecond, needed));
}

/**
 * A scheduled sweep: takes the sweep lease for `sweepId` (a retried invocation of the same sweep takes it
 * again), then runs the first pass. Nothing is enqueued when another sweep holds the lease.
 */
export async function startSweep(
  deps: SweepDeps,
  input: { sweepId: string; everyHours: number },
  options: PassOptions = {},
): Promise<SweepStart> {
  const lease = await deps.sweeps.acquire(input.sweepId, BACKGROUND_REFRESH.sweepLeaseSeconds);
  if (!lease.acquired) return { started: false, runningSweep: lease.heldBy };
  const membersPerSecond = sweepPace(lease.lastCount, input.everyHours);
  const pass = await sweepPass(
    deps,
    { id: input.sweepId, membersPerSecond, enqueued: 0 },
    undefined,
    options,
  );
  return { started: true, sweepId: input.sweepId, membersPerSecond, ...pass };
}

/**
 * A continuation (from the queue): renews its sweep's lease and runs the next pass; `superseded` (nothing
 * enqueued) when another sweep took the lease after this one's expired.
 */
export async function continueSweep(
  deps: SweepDeps,
  input: { cursor?: string; sweep?: SweepState },
  options: PassOptions = {},
): Promise<SweepPass & { superseded?: true }> {
  const { sweep } = input;
  if (sweep && !(await deps.sweeps.renew(sweep.id, BACKGROUND_REFRESH.sweepLeaseSeconds))) {
    return { enqueued: 0, superseded: true };
  }
  return sweepPass(deps, sweep, input.cursor, options);
}

/** One pass: `sweep` absent only for a continuation sent before sweeps took a lease (the floor pace, no lease). */
async function sweepPass(
  deps: SweepDeps,
  sweep: SweepState | undefined,
  from: string | undefined,
  options: PassOptions,
): Promise<SweepPass> {
  const rate = sweep?.membersPerSecond ?? BACKGROUND_REFRESH.sweepMembersPerSecond;
  const pageSize = options.pageSize ?? BACKGROUND_REFRESH.sweepPageSize;
  const perPass = Math.max(
    1,
    Math.min(
      options.passMembers ?? BACKGROUND_REFRESH.sweepPassMembers,
      Math.floor(rate * MAX_DELAY_SECONDS),
    ),
  );
  let cursor = from;
  let enqueued = 0;
  do {
    const page = await deps.members.listMembersToRefresh(Math.min(pageSize, perPass - enqueued), cursor);
    await deps.queue.send(
      page.members.map((member, index) => ({
        message: {
          kind: "member" as const,
          memberGuid: member.memberGuid,
          userId: member.userId,
          trigger: "sweep" as const,
        },
        delaySeconds: Math.floor((enqueued + index) / rate),
      })),
    );
    enqueued += page.members.length;
    cursor = page.cursor;
  } while (cursor !== undefined && enqueued < perPass);
  const total = (sweep?.enqueued ?? 0) + enqueued;
  if (cursor === undefined) {
    // The count stays on the lease item: the next sweep's pace.
    if (sweep) await deps.sweeps.release(sweep.id, total);
    return { enqueued };
  }
  await deps.queue.send([
    {
      message: { kind: "sweep", cursor, ...(sweep ? { sweep: { ...sweep, enqueued: total } } : {}) },
      // When this pass's last member is due: the next pass keeps the pace.
      delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.ceil(enqueued / rate)),
    },
  ]);
  return { enqueued, cursor };
}

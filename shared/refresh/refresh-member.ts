// The background refresh of one member, with nobody there: never `aggregate`, `identify` or
// `extend_history` (MX aggregates in the background itself; a refresh only reads what it found). One MX
// status call decides; when MX has nothing newer than what we stored, that call is the whole cost.
import { randomUUID } from "node:crypto";
import { CONNECTION_REASONS, connectionPhase } from "../domain/connection";
import type { BACKGROUND_SYNC_TRIGGERS } from "../domain/triggers";
import type { MxApi } from "../mx/api";
import { collectAll, sumOverPages } from "../mx/pages";
import type { Transaction } from "../mx/schemas";
import type { BankDataStore, MemberRecord, MemberStore } from "../storage/ports";
import { type ReportDeps, reportSyncEnd } from "../sync/report-run";
import { type Clock, systemClock, utcDay } from "../sync/time";
import { BACKGROUND_REFRESH } from "./settings";

/** `history` and `events` (ReportDeps): the run is recorded and the app told, as the workflow's Finish does. */
export interface RefreshMemberDeps extends ReportDeps {
  mx: MxApi;
  members: MemberStore;
  bankData: BankDataStore;
  clock?: Clock;
}

export interface RefreshMemberRequest {
  memberGuid: string;
  /** When known (the sweep; a webhook's `user_id`); otherwise found through the member-guid alias. */
  userId?: string;
  trigger: (typeof BACKGROUND_SYNC_TRIGGERS)[number];
}

export type RefreshMemberResult =
  /** Not ours (deleted, being deleted, or never stored): nothing to do. */
  | { outcome: "UNKNOWN_MEMBER" }
  /** Never synced: its first sync (the workflow) reads everything. */
  | { outcome: "NOT_SYNCED" }
  /** MX has nothing newer than the stored data. */
  | { outcome: "UNCHANGED"; connectionStatus: string | null }
  /** A run holds the member's lease: it reads the data. */
  | { outcome: "BUSY" }
  /** MX says the user must act (e.g. EXPIRED, DENIED): recorded, the app told, the member leaves the sweep. */
  | { outcome: "NEEDS_USER"; connectionStatus: string }
  | {
      outcome: "SYNCED";
      dataAsOf: string;
      counts: { owners: number; accounts: number; transactions: number; pendingRemoved: number };
      mxCalls: number;
      startedAt: string;
      finishedAt: string;
    };

const later = (a: string, b: string) => Date.parse(a) > Date.parse(b);

export async function refreshMember(
  deps: RefreshMemberDeps,
  request: RefreshMemberRequest,
): Promise<RefreshMemberResult> {
  const clock = deps.clock ?? systemClock;
  const userId = request.userId ?? (await deps.members.findMemberUser(request.memberGuid));
  const member = userId && (await deps.members.getMember(userId, request.memberGuid));
  // A member being deleted is gone at MX already; its purge must find nothing written behind it.
  if (!member || member.deletingAt !== undefined) return { outcome: "UNKNOWN_MEMBER" };
  const since = member.sync.dataAsOf ?? member.sync.lastSyncedAt;
  if (since === undefined) return { outcome: "NOT_SYNCED" };

  const status = await deps.mx.readMemberStatus(member.mxUserGuid, member.memberGuid);
  const connectionStatus = status.connection_status ?? null;
  // A changed status is recorded (a webhook's CONNECTION_STATUS, or the sweep finding it); an unchanged
  // one costs no write.
  if (connectionStatus && connectionStatus !== member.connectionStatus) {
    await deps.members.recordConnectionStatus(member.userId, member.memberGuid, connectionStatus);
  }
  if (
    connectionStatus &&
    connectionPhase(status) === "NEEDS_USER" &&
    (connectionStatus !== member.connectionStatus || member.sync.status !== "NEEDS_USER")
  ) {
    return needsUser(deps, member, request.trigger, connectionStatus, clock);
  }
  const aggregatedAt = status.successfully_aggregated_at;
  if (!aggregatedAt || !later(aggregatedAt, since)) return { outcome: "UNCHANGED", connectionStatus };
  if (connectionPhase(status) === "AGGREGATING" && connectionStatus !== "CONNECTED") {
    // Mid-connection (e.g. a reconnect): the workflow that started it reads the data.
    return { outcome: "UNCHANGED", connectionStatus };
  }

  const run = `bg-${request.trigger}-${randomUUID()}`;
  const leased = await deps.members.acquireSyncLease(
    member.userId,
    member.memberGuid,
    run,
    BACKGROUND_REFRESH.leaseSeconds * 1000,
    clock(),
  );
  if (!leased) return { outcome: "BUSY" };
  try {
    // A duplicate or late message may have been handled while we asked MX: read the member again, under
    // the lease, so the same data is never read twice.
    const current = await deps.members.getMember(member.userId, member.memberGuid);
    const currentSince = current?.sync.dataAsOf ?? current?.sync.lastSyncedAt;
    if (!current || (currentSince !== undefined && !later(aggregatedAt, currentSince))) {
      await deps.members.releaseSyncLease(member.userId, member.memberGuid, run);
      return { outcome: "UNCHANGED", connectionStatus };
    }
    return await readChanges(deps, current, run, request.trigger, aggregatedAt, currentSince ?? since, clock);
  } catch (error) {
    // Free the member for the retry (or a user's sync) at once rather than when the lease runs out.
    await deps.members.releaseSyncLease(member.userId, member.memberGuid, run).catch(() => false);
    throw error;
  }
}

async function readChanges(
  deps: RefreshMemberDeps,
  member: MemberRecord,
  run: string,
  trigger: RefreshMemberRequest["trigger"],
  aggregatedAt: string,
  since: string,
  clock: Clock,
): Promise<RefreshMemberResult> {
  const { mx, bankData } = deps;
  const { userId, mxUserGuid, memberGuid } = member;
  const started = clock();
  let mxCalls = 1; // the status read
  const counted =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A) => {
      mxCalls += 1;
      return call(...args);
    };

  // Balances move with every aggregation; owners only where identity is on for the member.
  const accounts = await collectAll(counted((page) => mx.listAccounts(mxUserGuid, memberGuid, { page })));
  const accountCount = await bankData.putAccounts(userId, memberGuid, accounts);
  const owners = member.identify
    ? await collectAll(counted((page) => mx.listAccountOwners(mxUserGuid, memberGuid, { page })))
    : [];
  const ownerCount = owners.length > 0 ? await bankData.putAccountOwners(userId, memberGuid, owners) : 0;

  // What MX created or changed since the stored data (new rows, pending rows that posted). MX filters by
  // day only, so the pages repeat that day's rows: those MX has not changed since `since` are not written
  // again (a write costs 5× a read, and feeds the changes log). Pending rows are always written: this
  // run's stamp on them is what keeps them from being removed as vanished below.
  // The two reads below overlap (a pending day is often also a day MX updated): a row is written once a run.
  // The store is told not to read rows back (skipUnchanged): what is left is new or changed (bench: reading
  // back cost 100 RRU to save 2 WRU), and a failed refresh records no outcome, so its retry must write
  // blind to log what a dead attempt left unlogged (shared/feed/README.md, "holes").
  const sinceMs = Date.parse(since);
  const written = new Set<string>();
  const changed = (items: Transaction[]) =>
    items.filter((t) => {
      const fresh = t.status === "PENDING" || !t.updated_at || !(Date.parse(t.updated_at) <= sinceMs);
      if (!fresh || written.has(t.guid)) return false;
      written.add(t.guid);
      return true;
    });
  const fromUpdatedAt = utcDay(new Date(sinceMs), -BACKGROUND_REFRESH.updatedOverlapDays);
  let transactions = await sumOverPages(
    counted((page) => mx.listTransactions(mxUserGuid, memberGuid, { fromUpdatedAt, page })),
    (items) => bankData.putTransactions(userId, memberGuid, changed(items), run, { skipUnchanged: false }),
  );
  // The days that held pending rows, read again in full: a pending row MX dropped (or replaced under a new
  // guid) is one this read no longer sees, whatever its age.
  let pendingRemoved = 0;
  const pending = await bankData.pendingDays(userId, memberGuid);
  if (pending) {
    transactions += await sumOverPages(
      counted((page) =>
        mx.listTransactions(mxUserGuid, memberGuid, { fromDate: pending.from, toDate: pending.to, page }),
      ),
      (items) => bankData.putTransactions(userId, memberGuid, changed(items), run, { skipUnchanged: false }),
    );
    pendingRemoved = await bankData.removeVanishedPending(userId, memberGuid, pending.from, pending.to, run);
  }

  const finished = clock();
  const counts = { owners: ownerCount, accounts: accountCount, transactions };
  const recorded = await deps.members.finishSync(userId, memberGuid, run, {
    status: "SYNCED",
    outcome: "SYNCED",
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    counts,
    lastSyncedAt: finished.toISOString(),
    dataAsOf: aggregatedAt,
  });
  // The lease was lost (the member's deletion took it): no history row or event behind the purge.
  if (!recorded) return { outcome: "BUSY" };
  await reportSyncEnd(deps, {
    userId,
    memberGuid,
    run: {
      runId: run,
      trigger,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      outcome: "SYNCED",
      rows: { written: ownerCount + accountCount + transactions, removed: pendingRemoved },
      mxCalls,
    },
  });
  return {
    outcome: "SYNCED",
    dataAsOf: aggregatedAt,
    counts: { ...counts, pendingRemoved },
    mxCalls,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
  };
}

/**
 * MX found the member needs its user (a background aggregation ended EXPIRED, DENIED, …): the member says
 * so like a run that ended NEEDS_USER (and leaves the sweep until a reconnect), the run is in its history
 * and the app gets member.needs_user. Under the lease, so it never overwrites a running sync's record.
 */
async function needsUser(
  deps: RefreshMemberDeps,
  member: MemberRecord,
  trigger: RefreshMemberRequest["trigger"],
  connectionStatus: string,
  clock: Clock,
): Promise<RefreshMemberResult> {
  const { userId, memberGuid } = member;
  const run = `bg-${trigger}-${randomUUID()}`;
  const now = clock();
  if (
    !(await deps.members.acquireSyncLease(
      userId,
      memberGuid,
      run,
      BACKGROUND_REFRESH.leaseSeconds * 1000,
      now,
    ))
  ) {
    return { outcome: "BUSY" };
  }
  const reason =
    CONNECTION_REASONS[connectionStatus] ?? "The bank needs the user to act before connecting again.";
  const recorded = await deps.members.finishSync(userId, memberGuid, run, {
    status: "NEEDS_USER",
    outcome: "NEEDS_USER",
    reason,
    finishedAt: now.toISOString(),
  });
  if (recorded) {
    await reportSyncEnd(deps, {
      userId,
      memberGuid,
      connectionStatus,
      run: {
        runId: run,
        trigger,
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
        outcome: "NEEDS_USER",
        reason,
        rows: { written: 0, removed: 0 },
        mxCalls: 1,
      },
    });
  }
  return { outcome: "NEEDS_USER", connectionStatus };
}

// The storage port: what use cases need from the data store. storage/dynamo.ts (createStores) implements it
// on one DynamoDB table (design in README "Data model"); use cases depend on this interface only.
import type { SyncStatus } from "../domain/connection";
import type { Account, AccountOwner, Challenge, Transaction } from "../mx/schemas";

export interface SyncCounts {
  owners: number;
  accounts: number;
  transactions: number;
}

/** The member's sync record: what the app sees about the latest sync run. */
export interface SyncState {
  status: SyncStatus;
  /** The Step Functions execution name of the run that owns the member now (the lease). */
  syncRun?: string;
  /** Epoch ms until which the lease holds even if its run died silently. */
  leaseExpiresAt?: number;
  startedAt?: string; // ISO
  finishedAt?: string; // ISO
  durationMs?: number;
  outcome?: string; // SYNCED, NEEDS_USER, FAILED, TIMED_OUT, ...
  reason?: string; // human readable, when not synced
  counts?: SyncCounts;
  lastSyncedAt?: string; // ISO, last successful sync
  /** Runs in a row that ended other than SYNCED (0 after a SYNCED one); written by finishSync. */
  consecutiveFailures?: number;
  /**
   * MX's `successfully_aggregated_at` (ISO) for the data the member's last successful read stored: how
   * fresh the stored data is at MX. Compared with MX's current value to tell whether MX has new data.
   */
  dataAsOf?: string;
  /** DECLINED: MX ran no aggregation for the last run (e.g. within 3 h of one); the data is as of dataAsOf. */
  aggregation?: "AGGREGATED" | "DECLINED";
  /** For operators, when the run ended on an error: its name and a scrubbed, trimmed message. */
  error?: { name: string; message?: string };
}

/**
 * Whether an MX product works for this member: AVAILABLE (MX took the job), NOT_ENABLED (403: outside the
 * client's MX contract), NOT_SUPPORTED (400/422: the institution does not offer it).
 */
export type ProductAvailability = "AVAILABLE" | "NOT_ENABLED" | "NOT_SUPPORTED";
export type MxProduct = "identity" | "extendedHistory";

export interface MemberRecord {
  userId: string; // the app's user id (JWT sub); also the MX user's `id`
  mxUserGuid: string;
  memberGuid: string;
  institutionCode: string;
  isOauth: boolean;
  identify: boolean;
  connectionStatus?: string;
  /** Allow-listed app URL to send the browser to after OAuth. */
  redirectUrl?: string;
  /** The challenges the end user must answer (MFA prompts only: never answers). */
  challenges?: Challenge[];
  /** Step Functions task token of the run waiting for the MFA answer. Cleared once used. */
  challengeTaskToken?: string;
  /** What the syncs learnt about MX's optional products for this member (absent: not tried yet). */
  products?: Partial<Record<MxProduct, ProductAvailability>>;
  /** The oldest transaction date (YYYY-MM-DD) stored for the member: how far back its history goes. */
  historyFrom?: string;
  /** When the member's deletion started (ISO): it is DELETING, its purge under way. Absent otherwise. */
  deletingAt?: string;
  sync: SyncState;
  createdAt: string;
  updatedAt: string;
}

export interface TransactionQuery {
  from?: string; // YYYY-MM-DD inclusive
  to?: string; // YYYY-MM-DD inclusive
  limit: number;
  cursor?: string; // opaque, from the previous page
}

export interface MemberStore {
  /** Creates or replaces the member's identity fields; never clobbers a running sync's state. */
  putMember(
    member: Omit<MemberRecord, "sync" | "createdAt" | "updatedAt"> & { sync?: SyncState },
  ): Promise<MemberRecord>;
  getMember(userId: string, memberGuid: string): Promise<MemberRecord | undefined>;
  listMembers(userId: string): Promise<MemberRecord[]>;
  recordConnectionStatus(userId: string, memberGuid: string, connectionStatus: string): Promise<void>;
  /** Records whether an MX product works for the member (one attribute; no lease needed). */
  recordProduct(
    userId: string,
    memberGuid: string,
    product: MxProduct,
    availability: ProductAvailability,
  ): Promise<void>;
  /** Moves `historyFrom` back to `day` (YYYY-MM-DD) when it is older than what is recorded; never forward. */
  recordHistoryFrom(userId: string, memberGuid: string, day: string): Promise<void>;
  /**
   * Takes the member's sync lease for `syncRun` when no other run holds a live one (conditional write).
   * Returns false when another run owns it: at most one running sync per member.
   */
  acquireSyncLease(
    userId: string,
    memberGuid: string,
    syncRun: string,
    leaseMs: number,
    now?: Date,
  ): Promise<boolean>;
  /** Also records MX's `connectionStatus` when given, in the same conditional write (one write per poll). */
  updateSync(
    userId: string,
    memberGuid: string,
    syncRun: string,
    patch: Partial<SyncState>,
    member?: { connectionStatus?: string },
  ): Promise<void>;
  /**
   * Ends the run: writes outcome, counts and timing, releases the lease. Only if `syncRun` holds it:
   * otherwise writes nothing and returns false (a stale run never overwrites a newer run's record).
   */
  finishSync(
    userId: string,
    memberGuid: string,
    syncRun: string,
    result: Partial<SyncState>,
  ): Promise<boolean>;
  /** `expiresInSeconds`: how long the token may be taken (default 1 h; pass the challenge wait timeout). */
  saveChallenges(
    userId: string,
    memberGuid: string,
    challenges: Challenge[],
    taskToken: string,
    expiresInSeconds?: number,
  ): Promise<void>;
  /** Returns and clears the waiting task token (single use); undefined when nothing waits. */
  takeChallengeTaskToken(userId: string, memberGuid: string): Promise<string | undefined>;
  /**
   * Starts the member's deletion (one conditional write, idempotent: the first `deletingAt` stays): from
   * then on no run holds or takes its lease, no row of it is written, it leaves the refresh index and a
   * waiting challenge is dropped. Returns the member as it was just before (the run to stop), undefined
   * when it does not exist.
   */
  markDeleting(userId: string, memberGuid: string): Promise<MemberRecord | undefined>;
  /**
   * One step of the purge: deletes up to `maxRows` of the member's rows (transactions with their change-log
   * `removed` entries, owners, accounts, sync history) and returns how many; 0 when none is left.
   * Resumable: each step starts from what is still stored.
   */
  purgeMemberRows(userId: string, memberGuid: string, maxRows: number): Promise<number>;
  /** The purge's last step, once no row is left: the member-guid alias, then the member item. */
  deleteMemberItem(userId: string, memberGuid: string): Promise<void>;
  /** Deletion at once: purgeMemberRows until none is left, then deleteMemberItem (tests, scripts; the API purges in the background). */
  deleteMember(userId: string, memberGuid: string): Promise<void>;
  /**
   * Members for the scheduled refresh, paged by an opaque cursor: those whose last sync ended SYNCED, and
   * those that synced before and whose last run ended FAILED/TIMED_OUT (transient); NEEDS_USER drops out.
   */
  listMembersToRefresh(limit: number, cursor?: string): Promise<{ members: MemberRecord[]; cursor?: string }>;
  /** Our user id of the member with this MX guid (the alias written with the member), or undefined. */
  findMemberUser(memberGuid: string): Promise<string | undefined>;
  /**
   * Releases `syncRun`'s lease and writes nothing else (a background read that found nothing to do).
   * False when `syncRun` does not hold it.
   */
  releaseSyncLease(userId: string, memberGuid: string, syncRun: string): Promise<boolean>;
}

export interface BankDataStore {
  /** BatchWriteItem, 25 a request, unprocessed items retried with backoff. Returns the count written. */
  putAccountOwners(userId: string, memberGuid: string, owners: AccountOwner[]): Promise<number>;
  putAccounts(userId: string, memberGuid: string, accounts: Account[]): Promise<number>;
  /**
   * Writes (and logs) only rows that differ from the stored ones, reading them back first, unless
   * `skipUnchanged` is false (the caller already keeps only what MX changed): then every row is written.
   */
  putTransactions(
    userId: string,
    memberGuid: string,
    transactions: Transaction[],
    syncRun: string,
    options?: { skipUnchanged?: boolean },
  ): Promise<number>;
  /**
   * After a run stored every page of a window: deletes that member's stored PENDING transactions dated in
   * [from, to] that this run did not see (MX replaced them with posted ones under new guids, or dropped them).
   */
  removeVanishedPending(
    userId: string,
    memberGuid: string,
    from: string,
    to: string,
    syncRun: string,
  ): Promise<number>;
  /**
   * The first and last day that still hold one of the member's stored PENDING transactions (the sparse
   * pending index; eventually consistent, which is enough: they were written by earlier runs), or undefined.
   */
  pendingDays(userId: string, memberGuid: string): Promise<{ from: string; to: string } | undefined>;
  listAccountOwners(userId: string, memberGuid: string): Promise<AccountOwner[]>;
  listAccounts(userId: string): Promise<Account[]>;
  getAccount(userId: string, accountGuid: string): Promise<Account | undefined>;
  /**
   * Newest first. Undefined when the account is not one of `userId`'s stored accounts (another user's or
   * unknown): a caller cannot read a foreign account's transactions by passing its guid.
   */
  listTransactions(
    userId: string,
    accountGuid: string,
    query: TransactionQuery,
  ): Promise<{ items: Transaction[]; cursor?: string } | undefined>;
  /** `userId`'s transaction rows under the account (only `syncRun`'s when given); 0 for another user's. */
  countTransactions(userId: string, accountGuid: string, options?: { syncRun?: string }): Promise<number>;
}

/** One entry of a user's transactions change log (written by the store with the row it describes). */
export type ChangeEntry = {
  /** The entry's place in the user's log: increasing, one number per entry. */
  seq: number;
  accountGuid: string;
  memberGuid: string;
  /** The transaction's MX guid. */
  guid: string;
} & ({ op: "upsert"; transaction: Transaction } | { op: "remove" });

/** Narrows a read of the change log or of the snapshot to one member's or one account's rows. */
export interface ChangeFilter {
  memberGuid?: string;
  accountGuid?: string;
}

/** Where a snapshot read stopped: the account it was in and the last transaction guid it returned. */
export interface SnapshotPosition {
  accountGuid?: string;
  afterGuid?: string;
}

export interface SnapshotRow {
  accountGuid: string;
  memberGuid: string;
  transaction: Transaction;
}

/**
 * The user's transactions change log (shared/storage/change-log.ts) and the snapshot a reader starts from.
 * Entries expire after `retentionDays` (DynamoDB TTL).
 */
export interface ChangeLog {
  readonly retentionDays: number;
  /** The last sequence number handed out for the user (0 before the first change). */
  head(userId: string): Promise<number>;
  /**
   * Entries after `afterSeq`, in order, at most `limit` matching `filter`; stops before a sequence number
   * whose entry is not written yet (it may still be). `lastSeq` is where the next read starts after.
   */
  read(
    userId: string,
    afterSeq: number,
    limit: number,
    filter?: ChangeFilter,
  ): Promise<{ entries: ChangeEntry[]; lastSeq: number; hasMore: boolean }>;
  /** The user's stored transaction rows, account by account in key order, from `position`; `next` if more. */
  snapshot(
    userId: string,
    position: SnapshotPosition,
    limit: number,
    filter?: ChangeFilter,
  ): Promise<{ rows: SnapshotRow[]; next?: SnapshotPosition }>;
}

/**
 * Short-lived single-use records (OAuth states, a create in flight), expired by DynamoDB TTL. An expired
 * record counts as absent. `note` is a short marker kept with the record (what became of it).
 */
export interface OnceStore {
  /** Records `key` (with `note`) if no live record has it; false when one does (replay, or work in flight). */
  claim(key: string, ttlSeconds: number, note?: string): Promise<boolean>;
  /** The live record of `key`, or undefined. */
  read(key: string): Promise<{ note?: string } | undefined>;
  /** Replaces the note of `key`'s live record (nothing when there is none). */
  mark(key: string, note: string): Promise<void>;
  /** Forgets `key`, only while its note is still `note`: a claim held for work in flight, now done. */
  release(key: string, note: string): Promise<void>;
}

/**
 * The sweep lease (shared/storage/sweep-lease-store.ts): at most one sweep runs at a time. A sweep takes it
 * when it starts, renews it at each pass, and releases it at its end with the count it swept; a crashed
 * sweep's lease expires `leaseSeconds` after its last renewal.
 */
export interface SweepLeaseStore {
  /**
   * Takes the lease for `sweepId` when no live sweep holds it. Returns the previous sweep's member count
   * (undefined before the first sweep ended), or `held` with the running sweep's id.
   */
  acquire(
    sweepId: string,
    leaseSeconds: number,
  ): Promise<{ acquired: true; lastCount?: number } | { acquired: false; heldBy: string }>;
  /** Extends `sweepId`'s lease by `leaseSeconds` from now; false when another sweep took it since. */
  renew(sweepId: string, leaseSeconds: number): Promise<boolean>;
  /** Ends `sweepId`'s lease and records how many members it swept; false when it no longer holds it. */
  release(sweepId: string, count: number): Promise<boolean>;
}

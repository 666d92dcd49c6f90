// Every key of the table is built (and taken apart) here and nowhere else: the item layout is in
// shared/storage/README.md ("Items"). Stores, tests and benchmarks go through these or the ports.
import type { Transaction } from "../mx/schemas";
import { PARTITION_KEY, SORT_KEY } from "./table";

export type Item = Record<string, unknown>;
export type ItemKey = { [PARTITION_KEY]: string; [SORT_KEY]: string };

const USER_PK_PREFIX = "USER#";
export const MEMBER_SK_PREFIX = "MEMBER#";
export const ACCOUNT_SK_PREFIX = "ACCOUNT#";
const ACCOUNT_PK_PREFIX = "ACCOUNT#";
const TXN_SK_PREFIX = "TXN#";

export const userPk = (userId: string) => `${USER_PK_PREFIX}${userId}`;

// ---- members ------------------------------------------------------------------------------------------------

export const memberKey = (userId: string, memberGuid: string): ItemKey => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: `${MEMBER_SK_PREFIX}${memberGuid}`,
});
/** The member's place in the sparse refresh index: unique per member, so writes spread. */
export const refreshId = (userId: string, memberGuid: string) => `${userId}#${memberGuid}`;

/**
 * The member-guid alias: MX's webhooks name a member by its guid (and `user_id` may be null), while the
 * member item is keyed by our user id. One small item per member, written with it, points back to the user.
 */
export const memberAliasKey = (memberGuid: string): ItemKey => ({
  [PARTITION_KEY]: `MEMBERGUID#${memberGuid}`,
  [SORT_KEY]: "MEMBER",
});

/** Whether a refresh-index key is a member item's key carrying that member's refresh id (cursor checks). */
export function isMemberRefreshKey(pk: string, sk: string, id: string): boolean {
  if (!pk.startsWith(USER_PK_PREFIX) || !sk.startsWith(MEMBER_SK_PREFIX)) return false;
  return id === refreshId(pk.slice(USER_PK_PREFIX.length), sk.slice(MEMBER_SK_PREFIX.length));
}

// ---- owners and accounts (in the user's partition) -------------------------------------------------------

export const ownerSkPrefix = (memberGuid: string) => `OWNER#${memberGuid}#`;
export const ownerKey = (userId: string, memberGuid: string, ownerGuid: string): ItemKey => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: `${ownerSkPrefix(memberGuid)}${ownerGuid}`,
});

export const accountKey = (userId: string, accountGuid: string): ItemKey => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: `${ACCOUNT_SK_PREFIX}${accountGuid}`,
});
/** The account guid of an account row's sort key. */
export const accountGuidOfSk = (sk: string) => sk.slice(ACCOUNT_SK_PREFIX.length);

// ---- transactions (one partition per account) ------------------------------------------------------------

export const transactionsPk = (accountGuid: string) => `${ACCOUNT_PK_PREFIX}${accountGuid}`;
export const transactionKey = (accountGuid: string, transactionGuid: string): ItemKey => ({
  [PARTITION_KEY]: transactionsPk(accountGuid),
  [SORT_KEY]: `${TXN_SK_PREFIX}${transactionGuid}`,
});

/** Date part of the date index key: MX's `date`, else the day of transacted_at/posted_at, else sorts first. */
const NO_DATE = "0000-00-00";
export const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Above every guid character ([A-Za-z0-9_-]), so `<to>#~` bounds a whole day. */
const DAY_END = "~";

function transactionDay(transaction: Transaction): string {
  for (const value of [transaction.date, transaction.transacted_at, transaction.posted_at]) {
    const day = value?.slice(0, 10);
    if (day && DAY.test(day)) return day;
  }
  return NO_DATE;
}

/** The date index key `<YYYY-MM-DD>#<guid>`: newest first when read backwards, ties broken by guid. */
export const transactionDateKey = (transaction: Transaction) =>
  `${transactionDay(transaction)}#${transaction.guid}`;
/**
 * The member's place in the sparse pending index: only PENDING transaction rows carry it, so a background
 * refresh finds the dates that still hold pending rows without reading the member's posted history.
 */
export const pendingOf = (userId: string, memberGuid: string) => `${userId}#${memberGuid}`;
/** The day of a date index key (`<YYYY-MM-DD>#<guid>`). */
export const dayOfDateKey = (dateKey: string) => dateKey.slice(0, 10);
/** Date-key bounds of the inclusive day range [from, to]. */
export const dateKeyFrom = (day: string) => `${day}#`;
export const dateKeyTo = (day: string) => `${day}#${DAY_END}`;

/**
 * Whether a cursor's key is a transaction row of `accountGuid` whose date key matches its sort key (so the
 * caller cannot steer the query with a hand-made date key).
 */
export function isTransactionCursorKey(
  accountGuid: string,
  pk: string,
  sk: string,
  dateKey: string,
): boolean {
  const guid = sk.slice(TXN_SK_PREFIX.length);
  const day = dateKey.slice(0, 10);
  return (
    pk === transactionsPk(accountGuid) &&
    sk.startsWith(TXN_SK_PREFIX) &&
    guid.length > 0 &&
    dateKey === `${day}#${guid}` &&
    (day === NO_DATE || DAY.test(day))
  );
}

// ---- sync history (in the user's partition, next to the member) -------------------------------------------

/** Every run of a member: `SYNC#<memberGuid>#<startedAt ISO>#<syncRun>`, so a backwards query is newest first. */
export const syncRunSkPrefix = (memberGuid: string) => `SYNC#${memberGuid}#`;
export const syncRunKey = (
  userId: string,
  memberGuid: string,
  startedAt: string,
  runId: string,
): ItemKey => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: `${syncRunSkPrefix(memberGuid)}${startedAt}#${runId}`,
});
/** Every run MX request counter of a member (the purge deletes them with the member). */
export const syncCallsSkPrefix = (memberGuid: string) => `SYNCCALLS#${memberGuid}#`;
/** A run's MX request counter, added to by each task (not under syncRunSkPrefix: listing never sees it). */
export const syncCallsKey = (userId: string, memberGuid: string, runId: string): ItemKey => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: `${syncCallsSkPrefix(memberGuid)}${runId}`,
});
/** Whether a history cursor's key is one of this user's member's runs (so a cursor cannot steer the query). */
export const isSyncRunCursorKey = (userId: string, memberGuid: string, pk: string, sk: string) =>
  pk === userPk(userId) &&
  sk.startsWith(syncRunSkPrefix(memberGuid)) &&
  sk.length > syncRunSkPrefix(memberGuid).length;

// ---- the transactions change log (one partition per user) --------------------------------------------------

const CHANGES_PK_PREFIX = "CHANGES#";
const CHANGE_SK_PREFIX = "SEQ#";
/** Sequence numbers are zero-padded to this many digits, so the sort key orders them. */
const SEQ_DIGITS = 15;

/** The user's change-log partition: entries in sequence order, plus the counter that hands out sequences. */
export const changesPk = (userId: string) => `${CHANGES_PK_PREFIX}${userId}`;
/** The per-user counter (`next`): the last sequence number handed out. Sorts before every entry. */
export const changeHeadKey = (userId: string): ItemKey => ({
  [PARTITION_KEY]: changesPk(userId),
  [SORT_KEY]: "HEAD",
});
export const changeSk = (seq: number) => `${CHANGE_SK_PREFIX}${String(seq).padStart(SEQ_DIGITS, "0")}`;
export const changeKey = (userId: string, seq: number): ItemKey => ({
  [PARTITION_KEY]: changesPk(userId),
  [SORT_KEY]: changeSk(seq),
});
/** The largest entry sort key (a Query's upper bound). */
export const CHANGE_SK_MAX = changeSk(10 ** SEQ_DIGITS - 1);
/** The sequence number of an entry's sort key, or undefined for another item. */
export function seqOfChangeSk(sk: string): number | undefined {
  if (!sk.startsWith(CHANGE_SK_PREFIX)) return undefined;
  const seq = Number(sk.slice(CHANGE_SK_PREFIX.length));
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** The account and transaction guids of a transaction row's key, or undefined for any other item. */
export function transactionOfKey(
  pk: unknown,
  sk: unknown,
): { accountGuid: string; guid: string } | undefined {
  if (typeof pk !== "string" || typeof sk !== "string") return undefined;
  if (!pk.startsWith(ACCOUNT_PK_PREFIX) || !sk.startsWith(TXN_SK_PREFIX)) return undefined;
  return { accountGuid: pk.slice(ACCOUNT_PK_PREFIX.length), guid: sk.slice(TXN_SK_PREFIX.length) };
}

// ---- single-use keys -------------------------------------------------------------------------------------

export const onceKey = (key: string): ItemKey => ({ [PARTITION_KEY]: `ONCE#${key}`, [SORT_KEY]: "ONCE" });

// ---- the sweep lease (one item for the table) ---------------------------------------------------------------

/** The one sweep lease: which sweep runs now, until when, and how many members the last one swept. */
export const sweepLeaseKey = (): ItemKey => ({ [PARTITION_KEY]: "SWEEP", [SORT_KEY]: "LEASE" });

/** The primary key of any item (for deletes). */
export const keyOf = (item: Item): Item => ({
  [PARTITION_KEY]: item[PARTITION_KEY],
  [SORT_KEY]: item[SORT_KEY],
});

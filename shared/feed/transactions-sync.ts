// The transactions changes feed (GET /v1/transactions/sync): what changed in the user's stored transactions
// since the app's cursor, as `added` / `modified` / `removed`, so the app keeps an exact copy without
// reading every page again. Design and guarantees: shared/feed/README.md.
import type { Transaction } from "../mx/schemas";
import { CHANGE_SETTLE_MS, retentionMs } from "../storage/change-log";
import type { ChangeFilter, ChangeLog } from "../storage/ports";
import { type FeedPosition, signFeedCursor, verifyFeedCursor } from "./cursor";

export interface TransactionsSyncQuery {
  cursor?: string;
  count: number;
  member_guid?: string;
  account_guid?: string;
}

export interface RemovedTransaction {
  guid: string;
  account_guid: string;
  member_guid: string;
}

export interface TransactionsSyncPage {
  added: Transaction[];
  modified: Transaction[];
  removed: RemovedTransaction[];
  next_cursor: string;
  has_more: boolean;
}

type Change =
  | { kind: "added" | "modified"; transaction: Transaction }
  | { kind: "removed"; removed: RemovedTransaction };

/**
 * A cursor is honoured this long: the retention, less twice the settle margin (an entry after the cursor
 * may have been written up to that long before the cursor was issued, and expires that much sooner).
 */
export const cursorMaxAgeMs = (retentionDays: number) => retentionMs(retentionDays) - 2 * CHANGE_SETTLE_MS;

export async function syncTransactions(
  deps: { changes: ChangeLog; keys: { changesCursor: Buffer }; now: () => Date },
  userId: string,
  query: TransactionsSyncQuery,
): Promise<TransactionsSyncPage> {
  const now = deps.now();
  const filter: ChangeFilter = {
    ...(query.member_guid ? { memberGuid: query.member_guid } : {}),
    ...(query.account_guid ? { accountGuid: query.account_guid } : {}),
  };
  // No cursor: the copy is empty. The stored rows first (the log holds only `retention` days), then every
  // change after the log's head as read now: a row changed meanwhile is changed again by the log.
  const start: FeedPosition = query.cursor
    ? verifyFeedCursor(deps.keys.changesCursor, query.cursor, {
        userId,
        filter,
        now,
        maxAgeMs: cursorMaxAgeMs(deps.changes.retentionDays),
      })
    : { seq: await deps.changes.head(userId), since: now.getTime(), snapshot: {} };

  // One change per row (its last): the three lists are disjoint, so applying them in any order is exact.
  const changes = new Map<string, Change>();
  const record = (key: string, change: Change) => {
    changes.delete(key);
    changes.set(key, change);
  };
  let position = start;
  let room = query.count;
  let hasMore: boolean;
  if (start.snapshot) {
    const page = await deps.changes.snapshot(userId, start.snapshot, room, filter);
    for (const row of page.rows)
      record(`${row.accountGuid}#${row.transaction.guid}`, { kind: "added", transaction: row.transaction });
    room -= page.rows.length;
    position = { seq: start.seq, since: start.since, ...(page.next ? { snapshot: page.next } : {}) };
  }
  if (position.snapshot || room === 0) {
    hasMore = true;
  } else {
    const read = await deps.changes.read(userId, position.seq, room, filter);
    for (const entry of read.entries) {
      const key = `${entry.accountGuid}#${entry.guid}`;
      if (entry.op === "remove") {
        record(key, {
          kind: "removed",
          removed: { guid: entry.guid, account_guid: entry.accountGuid, member_guid: entry.memberGuid },
        });
      } else {
        // Rows the snapshot just gave stay `added`; any other upsert is a `modified` (see the README).
        const kind = changes.get(key)?.kind === "added" ? "added" : "modified";
        record(key, { kind, transaction: entry.transaction });
      }
    }
    hasMore = read.hasMore;
    // Every entry after lastSeq is written from now on, or (a hole it waits behind) less than a settle ago.
    position = { seq: read.lastSeq, since: now.getTime() };
  }

  const page: TransactionsSyncPage = {
    added: [],
    modified: [],
    removed: [],
    next_cursor: signFeedCursor(deps.keys.changesCursor, userId, filter, position),
    has_more: hasMore,
  };
  for (const change of changes.values()) {
    if (change.kind === "removed") page.removed.push(change.removed);
    else page[change.kind].push(change.transaction);
  }
  return page;
}

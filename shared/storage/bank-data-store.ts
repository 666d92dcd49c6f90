// BankDataStore on the table: owners and accounts in the user's partition, transactions in one partition
// per account (date index for ranges), written in batches; and the deletion of a member's rows, which the
// member store calls (it alone deletes members: rows first, the member item last).
import { isDeepStrictEqual } from "node:util";
import { GetCommand, QueryCommand, type QueryCommandInput, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  type Account,
  type AccountOwner,
  accountOwnerSchema,
  accountSchema,
  type Transaction,
  transactionSchema,
} from "../mx/schemas";
import { batchGet, batchWrite, type WriteRequest } from "./batch";
import { writeWithChanges } from "./change-log";
import { conditionalWrite } from "./conditional";
import { del, put, type StoreContext, stripUndefinedDeep, uniqueBy } from "./context";
import { decodeCursor } from "./cursor";
import { InvalidCursorError, MemberNotFoundError } from "./errors";
import {
  ACCOUNT_SK_PREFIX,
  accountGuidOfSk,
  accountKey,
  DAY,
  dateKeyFrom,
  dateKeyTo,
  dayOfDateKey,
  type Item,
  isTransactionCursorKey,
  keyOf,
  memberKey,
  ownerKey,
  ownerSkPrefix,
  pendingOf,
  syncCallsSkPrefix,
  syncRunSkPrefix,
  transactionDateKey,
  transactionKey,
  transactionsPk,
  userPk,
} from "./keys";
import { DELETING_AT } from "./member-item";
import type { BankDataStore, TransactionQuery } from "./ports";
import { checkDay, checkLimit, countAll, pageOf, queryAll } from "./query";
import {
  PARTITION_KEY,
  PENDING_BY_MEMBER_INDEX,
  PENDING_OF,
  SORT_KEY,
  TRANSACTION_DATE_KEY,
  TRANSACTIONS_BY_DATE_INDEX,
} from "./table";

/**
 * A transaction's row as putTransactions writes it: the one builder, so a benchmark seeding rows straight
 * with BatchWriteItem stores exactly what a sync does. Throws when MX gave the transaction no account.
 */
export function transactionItem(
  userId: string,
  memberGuid: string,
  transaction: Transaction,
  syncRun: string,
): Item {
  const accountGuid = transaction.account_guid;
  if (!accountGuid) throw new TypeError(`MX transaction ${transaction.guid} has no account_guid`);
  return {
    ...stripUndefinedDeep(transactionSchema.parse(transaction)),
    ...transactionKey(accountGuid, transaction.guid),
    [TRANSACTION_DATE_KEY]: transactionDateKey(transaction),
    entity: "transaction",
    userId,
    memberGuid,
    syncRun,
    // Only pending rows join the sparse pending index (a posted overwrite leaves it).
    ...(transaction.status === "PENDING" ? { [PENDING_OF]: pendingOf(userId, memberGuid) } : {}),
  };
}

export class DynamoBankDataStore implements BankDataStore {
  constructor(private readonly context: StoreContext) {}

  async putAccountOwners(userId: string, memberGuid: string, owners: AccountOwner[]): Promise<number> {
    if (owners.length === 0) return 0;
    await this.claimWrite(userId, memberGuid, new Set(owners.flatMap((owner) => owner.account_guid ?? [])));
    const rows = uniqueBy(owners, (owner) => owner.guid).map((owner) =>
      put({
        ...stripUndefinedDeep(accountOwnerSchema.parse(owner)),
        ...ownerKey(userId, memberGuid, owner.guid),
        entity: "owner",
        memberGuid,
      }),
    );
    return this.writeChanged(rows);
  }

  async putAccounts(userId: string, memberGuid: string, accounts: Account[]): Promise<number> {
    if (accounts.length === 0) return 0;
    await this.claimWrite(userId, memberGuid, new Set(accounts.map((account) => account.guid)));
    const rows = uniqueBy(accounts, (account) => account.guid).map((account) =>
      put({
        ...stripUndefinedDeep(accountSchema.parse(account)),
        ...accountKey(userId, account.guid),
        entity: "account",
        memberGuid,
      }),
    );
    return this.writeChanged(rows);
  }

  /**
   * Upserts the transactions keyed by their MX guid (a re-run overwrites, never duplicates), each stamped
   * with `syncRun`. First records their account guids on the member (`accountGuids`), so the member's rows
   * can be found and deleted even if its accounts were never stored; throws MemberNotFoundError when the
   * member is gone (a deleted member's sync must not write orphans).
   *
   * Only rows whose stored MX fields differ (or that are not stored) are written and logged: a refresh
   * reads back days it already holds, and a rewrite costs ~3 WRU (row, date index, change-log entry)
   * where the strongly consistent read that spares it costs 1 RRU, a fifth of the price. A pending row
   * the same as stored is still written, without an entry: its `syncRun` stamp is what keeps
   * removeVanishedPending from taking it.
   *
   * A row is trusted to have its entry only if a run that ended SYNCED could have written it: a writer
   * that died between its rows and their entries (shared/feed/README.md, "holes") leaves rows whose
   * change is not logged, and it is their next write that logs them. So rows stamped by this run are
   * written again (the task's retry), and no row is read when the member's last run did not end SYNCED
   * (never synced: a first sync, nothing to find; or failed: its successor writes what it reads blind, as
   * before, and reads the same changes since its `dataAsOf` was not moved). Nor are rows of an account
   * the member has no row under yet (`accountGuids`).
   */
  async putTransactions(
    userId: string,
    memberGuid: string,
    transactions: Transaction[],
    syncRun: string,
    options: { skipUnchanged?: boolean } = {},
  ): Promise<number> {
    const unique = uniqueBy(transactions, (transaction) => transaction.guid);
    if (unique.length === 0) return 0;
    const accountGuids = new Set<string>();
    const rows = unique.map((transaction) => {
      const accountGuid = transaction.account_guid;
      if (!accountGuid) throw new TypeError(`MX transaction ${transaction.guid} has no account_guid`);
      accountGuids.add(accountGuid);
      return transactionItem(userId, memberGuid, transaction, syncRun);
    });
    const before = await this.claimWrite(userId, memberGuid, accountGuids);
    const mayBeStored = (row: Item) =>
      options.skipUnchanged !== false &&
      before.synced &&
      typeof row.account_guid === "string" &&
      before.accountGuids.has(row.account_guid);
    const stored = await storedItems(this.context, rows.filter(mayBeStored));
    const changed: WriteRequest[] = [];
    const restamped: WriteRequest[] = [];
    for (const row of rows) {
      const old = stored.get(itemId(row));
      const same =
        old !== undefined &&
        old[RUN_STAMP] !== syncRun &&
        isDeepStrictEqual(withoutRunStamp(old), withoutRunStamp(row));
      if (!same) changed.push(put(row));
      else if (row.status === "PENDING") restamped.push(put(row));
    }
    // Each changed row with its change-log entry (the changes feed reads those).
    return writeWithChanges(this.context, { userId, memberGuid }, changed, restamped);
  }

  async removeVanishedPending(
    userId: string,
    memberGuid: string,
    from: string,
    to: string,
    syncRun: string,
  ): Promise<number> {
    checkDay(from, "from");
    checkDay(to, "to");
    if (from > to) return 0;
    const deletes: WriteRequest[] = [];
    for (const accountGuid of await memberAccountGuids(this.context, userId, memberGuid)) {
      // Strongly consistent (LSI): rows this run just overwrote carry its syncRun and are kept.
      const stale = await queryAll(this.context, {
        IndexName: TRANSACTIONS_BY_DATE_INDEX,
        KeyConditionExpression: "#pk = :pk AND #dateKey BETWEEN :from AND :to",
        FilterExpression: "#status = :pending AND #memberGuid = :memberGuid AND #syncRun <> :syncRun",
        ProjectionExpression: "#pk, #sk",
        ExpressionAttributeNames: {
          "#pk": PARTITION_KEY,
          "#sk": SORT_KEY,
          "#dateKey": TRANSACTION_DATE_KEY,
          "#status": "status",
          "#memberGuid": "memberGuid",
          "#syncRun": "syncRun",
        },
        ExpressionAttributeValues: {
          ":pk": transactionsPk(accountGuid),
          ":from": dateKeyFrom(from),
          ":to": dateKeyTo(to),
          ":pending": "PENDING",
          ":memberGuid": memberGuid,
          ":syncRun": syncRun,
        },
        ConsistentRead: true,
      });
      deletes.push(...stale.map(keyOf).map(del));
    }
    return writeWithChanges(this.context, { userId, memberGuid }, deletes);
  }

  async pendingDays(userId: string, memberGuid: string): Promise<{ from: string; to: string } | undefined> {
    const edge = async (forward: boolean) => {
      const result = await this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          IndexName: PENDING_BY_MEMBER_INDEX,
          KeyConditionExpression: "#pendingOf = :pendingOf",
          ExpressionAttributeNames: { "#pendingOf": PENDING_OF, "#dateKey": TRANSACTION_DATE_KEY },
          ExpressionAttributeValues: { ":pendingOf": pendingOf(userId, memberGuid) },
          ProjectionExpression: "#dateKey",
          ScanIndexForward: forward,
          Limit: 1,
        }),
      );
      const dateKey = result.Items?.[0]?.[TRANSACTION_DATE_KEY];
      return typeof dateKey === "string" ? dayOfDateKey(dateKey) : undefined;
    };
    const [from, to] = await Promise.all([edge(true), edge(false)]);
    return from && to && DAY.test(from) && DAY.test(to) ? { from, to } : undefined;
  }

  async listAccountOwners(userId: string, memberGuid: string): Promise<AccountOwner[]> {
    const items = await queryAll(this.context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": ownerSkPrefix(memberGuid) },
    });
    return items.map((item) => accountOwnerSchema.parse(item));
  }

  async listAccounts(userId: string): Promise<Account[]> {
    const items = await queryAll(this.context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": ACCOUNT_SK_PREFIX },
    });
    return items.map((item) => accountSchema.parse(item));
  }

  async getAccount(userId: string, accountGuid: string): Promise<Account | undefined> {
    const result = await this.context.doc.send(
      new GetCommand({ TableName: this.context.tableName, Key: accountKey(userId, accountGuid) }),
    );
    return result.Item ? accountSchema.parse(result.Item) : undefined;
  }

  /**
   * An account's transactions, newest first (by date, then guid), optionally within [from, to], `limit`
   * (1..500) a page. Undefined when the account is not one of the user's stored accounts (foreign or
   * unknown: the API answers 404), checked before anything else so such an account tells nothing more.
   * Throws InvalidCursorError for a cursor not issued for this account and range.
   */
  async listTransactions(
    userId: string,
    accountGuid: string,
    query: TransactionQuery,
  ): Promise<{ items: Transaction[]; cursor?: string } | undefined> {
    if (!(await this.ownsAccount(userId, accountGuid))) return undefined;
    checkLimit(query.limit, 500);
    if (query.from !== undefined) checkDay(query.from, "from");
    if (query.to !== undefined) checkDay(query.to, "to");
    const lower = query.from === undefined ? undefined : dateKeyFrom(query.from);
    const upper = query.to === undefined ? undefined : dateKeyTo(query.to);
    const keyNames = [PARTITION_KEY, SORT_KEY, TRANSACTION_DATE_KEY] as const;
    const startKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor, keyNames);
    if (startKey) {
      const dateKey = startKey[TRANSACTION_DATE_KEY];
      const valid =
        isTransactionCursorKey(accountGuid, startKey[PARTITION_KEY], startKey[SORT_KEY], dateKey) &&
        (lower === undefined || dateKey >= lower) &&
        (upper === undefined || dateKey <= upper);
      if (!valid) throw new InvalidCursorError();
    }
    if (lower !== undefined && upper !== undefined && lower > upper) return { items: [] };

    const names: Record<string, string> = { "#pk": PARTITION_KEY };
    const values: Record<string, unknown> = { ":pk": transactionsPk(accountGuid) };
    let condition = "#pk = :pk";
    if (lower !== undefined || upper !== undefined) names["#dateKey"] = TRANSACTION_DATE_KEY;
    if (lower !== undefined) values[":lower"] = lower;
    if (upper !== undefined) values[":upper"] = upper;
    if (lower !== undefined && upper !== undefined) condition += " AND #dateKey BETWEEN :lower AND :upper";
    else if (lower !== undefined) condition += " AND #dateKey >= :lower";
    else if (upper !== undefined) condition += " AND #dateKey <= :upper";

    const page = await pageOf(
      this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          IndexName: TRANSACTIONS_BY_DATE_INDEX,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: query.limit + 1,
          ExclusiveStartKey: startKey,
        }),
      ),
      query.limit,
      keyNames,
    );
    return {
      items: page.items.map((item) => transactionSchema.parse(item)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  /**
   * The user's transaction rows stored under the account (only those `syncRun` wrote, when given); 0 for
   * another user's account. Scoped by the rows' `userId`, not the account row, so rows whose account was
   * never stored (or was deleted) are still counted: this is how deletion is checked.
   */
  async countTransactions(userId: string, accountGuid: string, options: { syncRun?: string } = {}) {
    const names: Record<string, string> = { "#pk": PARTITION_KEY, "#userId": "userId" };
    const values: Record<string, unknown> = { ":pk": transactionsPk(accountGuid), ":userId": userId };
    let filter = "#userId = :userId";
    if (options.syncRun !== undefined) {
      names["#syncRun"] = "syncRun";
      values[":syncRun"] = options.syncRun;
      filter += " AND #syncRun = :syncRun";
    }
    return countAll(this.context, {
      KeyConditionExpression: "#pk = :pk",
      FilterExpression: filter,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  private async ownsAccount(userId: string, accountGuid: string): Promise<boolean> {
    const result = await this.context.doc.send(
      new GetCommand({
        TableName: this.context.tableName,
        Key: accountKey(userId, accountGuid),
        ProjectionExpression: "#pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
      }),
    );
    return result.Item !== undefined;
  }

  /**
   * Before any row of the member is written: records the rows' account guids on the member (so its rows
   * can be found and deleted even if its accounts were never stored), in one conditional update that fails
   * with MemberNotFoundError when the member is gone or being deleted (`deletingAt`): a sync that raced
   * the delete writes no row after it started. A writer that passed this check just before the mark
   * finishes within its Lambda's timeout, and the purge starts only after that (MEMBER_PURGE).
   * Returns what the member said before (free: the update returns the old item): whether its last run
   * ended SYNCED (a run's lease does not clear the previous outcome) and the accounts its rows were
   * stored under.
   */
  private async claimWrite(
    userId: string,
    memberGuid: string,
    accountGuids: Set<string>,
  ): Promise<{ synced: boolean; accountGuids: Set<string> }> {
    const key = memberKey(userId, memberGuid);
    const names = { "#pk": PARTITION_KEY, "#deletingAt": DELETING_AT };
    const condition = "attribute_exists(#pk) AND attribute_not_exists(#deletingAt)";
    const recorded = await conditionalWrite(
      this.context,
      key,
      () =>
        this.context.doc.send(
          new UpdateCommand({
            TableName: this.context.tableName,
            Key: key,
            ConditionExpression: condition,
            ReturnValues: "ALL_OLD",
            // Nothing to add (an owner without an account guid): the same condition on a no-op update.
            ...(accountGuids.size > 0
              ? {
                  UpdateExpression: "ADD #accountGuids :accountGuids",
                  ExpressionAttributeNames: { ...names, "#accountGuids": "accountGuids" },
                  ExpressionAttributeValues: { ":accountGuids": accountGuids },
                }
              : {
                  UpdateExpression: "REMOVE #noSuchAttribute",
                  ExpressionAttributeNames: { ...names, "#noSuchAttribute": "claimWrite" },
                }),
          }),
        ),
      // Missing or deleting: either way no row of it may be written.
      "ignore",
    );
    if (!recorded.written) throw new MemberNotFoundError(userId, memberGuid);
    const old = recorded.output.Attributes ?? {};
    const sync: unknown = old.sync;
    const synced =
      typeof sync === "object" && sync !== null && "outcome" in sync && sync.outcome === "SYNCED";
    const guids = old.accountGuids instanceof Set ? [...old.accountGuids].map(String) : [];
    return { synced, accountGuids: new Set(guids) };
  }

  /** Writes the rows (owners, accounts: no per-run field) whose stored item differs or is missing. */
  private async writeChanged(rows: WriteRequest[]): Promise<number> {
    const items = rows.flatMap((row) => (row.PutRequest ? [row.PutRequest.Item] : []));
    const stored = await storedItems(this.context, items);
    const changed = rows.filter(
      (row) =>
        !row.PutRequest || !isDeepStrictEqual(stored.get(itemId(row.PutRequest.Item)), row.PutRequest.Item),
    );
    return batchWrite(this.context.doc, this.context.tableName, changed, this.context.batch);
  }
}

/** What a row's write changes every run whatever MX said: the run that wrote it last. */
const RUN_STAMP = "syncRun";

function withoutRunStamp(item: Item): Item {
  const { [RUN_STAMP]: _stamp, ...rest } = item;
  return rest;
}

const itemId = (item: Item) => `${String(item[PARTITION_KEY])}\u0000${String(item[SORT_KEY])}`;

/** The stored items of these rows (strongly consistent: the lease's previous holder may just have written). */
async function storedItems(context: StoreContext, rows: readonly Item[]): Promise<Map<string, Item>> {
  if (rows.length === 0) return new Map();
  const found = await batchGet(context.doc, context.tableName, rows.map(keyOf), context.batch);
  return new Map(found.map((item) => [itemId(item), item]));
}

/** The member's account guids: its stored accounts plus every account its transactions were stored under. */
async function memberAccountGuids(
  context: StoreContext,
  userId: string,
  memberGuid: string,
): Promise<string[]> {
  const [accounts, member] = await Promise.all([
    queryAll(context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      FilterExpression: "#memberGuid = :memberGuid",
      ProjectionExpression: "#sk",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#memberGuid": "memberGuid" },
      ExpressionAttributeValues: {
        ":pk": userPk(userId),
        ":prefix": ACCOUNT_SK_PREFIX,
        ":memberGuid": memberGuid,
      },
      ConsistentRead: true,
    }),
    context.doc.send(
      new GetCommand({
        TableName: context.tableName,
        Key: memberKey(userId, memberGuid),
        ProjectionExpression: "#accountGuids",
        ExpressionAttributeNames: { "#accountGuids": "accountGuids" },
        ConsistentRead: true,
      }),
    ),
  ]);
  const guids = new Set<string>();
  for (const item of accounts) guids.add(accountGuidOfSk(String(item[SORT_KEY])));
  const fromTransactions = member.Item?.accountGuids;
  if (fromTransactions instanceof Set) for (const guid of fromTransactions) guids.add(String(guid));
  return [...guids];
}

/**
 * Deletes up to `limit` of the member's rows (not the member item) and returns how many: its transactions
 * first (each with its `removed` entry in the change log), then its owners, accounts and sync history. 0
 * means none is left. Each call starts again from what is still stored, so a purge resumed after a crash
 * needs no cursor. Only MemberStore.purgeMember calls it, before deleting the member item.
 */
export async function deleteMemberRows(
  context: StoreContext,
  userId: string,
  memberGuid: string,
  limit: number,
): Promise<number> {
  const keys: Item[] = [];
  const collect = async (input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">) => {
    let startKey: Record<string, unknown> | undefined;
    while (keys.length < limit) {
      const result = await context.doc.send(
        new QueryCommand({
          ...input,
          TableName: context.tableName,
          ProjectionExpression: "#pk, #sk",
          Limit: limit - keys.length,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      keys.push(...(result.Items ?? []).map(keyOf));
      startKey = result.LastEvaluatedKey;
      if (!startKey) return;
    }
  };
  const names = { "#pk": PARTITION_KEY, "#sk": SORT_KEY };
  for (const accountGuid of await memberAccountGuids(context, userId, memberGuid)) {
    await collect({
      KeyConditionExpression: "#pk = :pk",
      FilterExpression: "#memberGuid = :memberGuid",
      ExpressionAttributeNames: { ...names, "#memberGuid": "memberGuid" },
      ExpressionAttributeValues: { ":pk": transactionsPk(accountGuid), ":memberGuid": memberGuid },
    });
  }
  // The user's partition: the member's owners, accounts and run history (the member item stays, last).
  for (const prefix of [
    ownerSkPrefix(memberGuid),
    syncRunSkPrefix(memberGuid),
    syncCallsSkPrefix(memberGuid),
  ]) {
    await collect({
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": prefix },
    });
  }
  await collect({
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    FilterExpression: "#memberGuid = :memberGuid",
    ExpressionAttributeNames: { ...names, "#memberGuid": "memberGuid" },
    ExpressionAttributeValues: {
      ":pk": userPk(userId),
      ":prefix": ACCOUNT_SK_PREFIX,
      ":memberGuid": memberGuid,
    },
  });
  // Each transaction deleted with its removal entry in the change log (the changes feed reports it).
  return writeWithChanges(context, { userId, memberGuid }, keys.slice(0, limit).map(del));
}

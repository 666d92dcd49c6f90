// The transactions change log: every write of a transaction row (upsert or delete) also appends an entry,
// in sequence, to the owner's change-log partition, so the changes feed reads O(changes) with one Query per
// page and never scans. Design and its guarantees: shared/storage/README.md ("Change log").
import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { type Transaction, transactionSchema } from "../mx/schemas";
import { batchWrite, type WriteRequest } from "./batch";
import { put, type StoreContext, stripUndefinedDeep } from "./context";
import {
  CHANGE_SK_MAX,
  changeHeadKey,
  changeKey,
  changeSk,
  changesPk,
  type Item,
  transactionKey,
  transactionOfKey,
  transactionsPk,
  userPk,
} from "./keys";
import type { ChangeEntry, ChangeFilter, ChangeLog, SnapshotPosition, SnapshotRow } from "./ports";
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "./table";

export { DEFAULT_CHANGE_RETENTION_DAYS } from "../feed/settings";

/**
 * A hole in the sequence (a number handed out whose entry is not written yet) holds readers back until an
 * entry after it is this old: a writer writes its entries within seconds of taking their numbers (one
 * BatchWriteItem with its bounded retries), so only a writer that died leaves a hole that long.
 */
export const CHANGE_SETTLE_MS = 60_000;

/** Entries a read may go through to fill one filtered page, so a narrow filter cannot make a call unbounded. */
const MAX_ENTRIES_READ_PER_CALL = 5_000;

const DAY_MS = 86_400_000;

export const retentionMs = (days: number) => days * DAY_MS;

/** Whose rows a write touches: the owner (whose log gets the entries) and the member they belong to. */
export interface ChangeScope {
  userId: string;
  memberGuid: string;
}

const entrySchema = z.object({
  seq: z.number().int().positive(),
  op: z.enum(["upsert", "remove"]),
  accountGuid: z.string().min(1),
  memberGuid: z.string().min(1),
  guid: z.string().min(1),
  transaction: transactionSchema.optional(),
  writtenAt: z.number().int(),
});

/**
 * Writes the member's rows, then a change entry for each transaction row among them (other rows, owners
 * and accounts, are written as they are). `unlogged` rows are written in the same batches with no entry:
 * rows whose MX fields are the same as stored (only the run's stamp moves), so the feed has nothing to say. Order: every row first, then the sequence numbers are taken (one
 * atomic counter update for the whole call), then the entries: so a number handed out means its row is
 * already written, and an entry, once visible, describes a row already in the table. One counter update
 * per call rather than per 25 rows: a page of 1,000 rows costs 82 DynamoDB calls, not 121, and its rows
 * and entries each use every call in flight.
 */
export async function writeWithChanges(
  context: StoreContext,
  scope: ChangeScope,
  requests: readonly WriteRequest[],
  unlogged: readonly WriteRequest[] = [],
): Promise<number> {
  const written = requests.length + unlogged.length;
  await batchWrite(context.doc, context.tableName, [...requests, ...unlogged], context.batch);
  const drafts = requests.flatMap((request) => draftOf(scope, request));
  if (drafts.length === 0) return written;
  const last = await reserve(context, scope.userId, drafts.length);
  const first = last - drafts.length + 1;
  const writtenAt = context.now().getTime();
  const expiresAt = Math.floor((writtenAt + retentionMs(context.changeRetentionDays)) / 1000);
  const entries = drafts.map((draft, index) =>
    put({
      ...changeKey(scope.userId, first + index),
      entity: "change",
      seq: first + index,
      ...draft,
      writtenAt,
      [TTL_ATTRIBUTE]: expiresAt,
    }),
  );
  await batchWrite(context.doc, context.tableName, entries, context.batch);
  return written;
}

/** The entry a request implies: an upsert carries the row's MX fields; a removal its guids only. */
function draftOf(scope: ChangeScope, request: WriteRequest): Item[] {
  if (request.PutRequest) {
    const item = request.PutRequest.Item;
    const row = transactionOfKey(item[PARTITION_KEY], item[SORT_KEY]);
    if (!row) return [];
    return [
      {
        op: "upsert",
        accountGuid: row.accountGuid,
        memberGuid: scope.memberGuid,
        guid: row.guid,
        transaction: stripUndefinedDeep(transactionSchema.parse(item)),
      },
    ];
  }
  const key = request.DeleteRequest.Key;
  const row = transactionOfKey(key[PARTITION_KEY], key[SORT_KEY]);
  if (!row) return [];
  return [{ op: "remove", accountGuid: row.accountGuid, memberGuid: scope.memberGuid, guid: row.guid }];
}

/** Takes `count` sequence numbers from the user's counter (one atomic update); returns the last one. */
async function reserve(context: StoreContext, userId: string, count: number): Promise<number> {
  const result = await context.doc.send(
    new UpdateCommand({
      TableName: context.tableName,
      Key: changeHeadKey(userId),
      UpdateExpression: "SET #entity = :entity ADD #next :count",
      ExpressionAttributeNames: { "#next": "next", "#entity": "entity" },
      ExpressionAttributeValues: { ":count": count, ":entity": "changeHead" },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  const last = result.Attributes?.next;
  if (typeof last !== "number") throw new TypeError("The change-log counter returned no number");
  return last;
}

export class DynamoChangeLog implements ChangeLog {
  constructor(private readonly context: StoreContext) {}

  get retentionDays(): number {
    return this.context.changeRetentionDays;
  }

  async head(userId: string): Promise<number> {
    const result = await this.context.doc.send(
      new GetCommand({ TableName: this.context.tableName, Key: changeHeadKey(userId), ConsistentRead: true }),
    );
    const next = result.Item?.next;
    return typeof next === "number" ? next : 0;
  }

  async read(
    userId: string,
    afterSeq: number,
    limit: number,
    filter: ChangeFilter = {},
  ): Promise<{ entries: ChangeEntry[]; lastSeq: number; hasMore: boolean }> {
    const now = this.context.now().getTime();
    const entries: ChangeEntry[] = [];
    let expected = afterSeq + 1;
    let scanned = 0;
    let startKey: Record<string, unknown> | undefined;
    for (;;) {
      const result = await this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: {
            ":pk": changesPk(userId),
            ":from": changeSk(expected),
            ":to": CHANGE_SK_MAX,
          },
          // Strongly consistent: an entry written before this read must not be missed by it.
          ConsistentRead: true,
          Limit: limit - entries.length + 1,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        const entry = entrySchema.parse(item);
        // A hole: its number was handed out but its entry is not written yet. Wait for it, unless the
        // entry after it is old enough that its writer must have died (then the hole never fills).
        if (entry.seq > expected && now - entry.writtenAt < CHANGE_SETTLE_MS) {
          return { entries, lastSeq: expected - 1, hasMore: false };
        }
        const matches =
          (filter.memberGuid === undefined || entry.memberGuid === filter.memberGuid) &&
          (filter.accountGuid === undefined || entry.accountGuid === filter.accountGuid);
        if (matches && entries.length === limit) return { entries, lastSeq: expected - 1, hasMore: true };
        if (scanned === MAX_ENTRIES_READ_PER_CALL) return { entries, lastSeq: expected - 1, hasMore: true };
        scanned++;
        if (matches) entries.push(toChangeEntry(entry));
        expected = entry.seq + 1;
      }
      if (!result.LastEvaluatedKey) return { entries, lastSeq: expected - 1, hasMore: false };
      startKey = result.LastEvaluatedKey;
    }
  }

  async snapshot(
    userId: string,
    position: SnapshotPosition,
    limit: number,
    filter: ChangeFilter = {},
  ): Promise<{ rows: SnapshotRow[]; next?: SnapshotPosition }> {
    const accounts = (await this.accountGuids(userId, filter)).filter(
      (guid) => position.accountGuid === undefined || guid >= position.accountGuid,
    );
    const rows: SnapshotRow[] = [];
    for (const accountGuid of accounts) {
      const after = accountGuid === position.accountGuid ? position.afterGuid : undefined;
      let startKey: Record<string, unknown> | undefined =
        after === undefined ? undefined : transactionKey(accountGuid, after);
      do {
        const result = await this.context.doc.send(
          new QueryCommand({
            TableName: this.context.tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
            ExpressionAttributeValues: {
              ":pk": transactionsPk(accountGuid),
              ":prefix": transactionKey(accountGuid, "")[SORT_KEY],
            },
            ConsistentRead: true,
            Limit: limit - rows.length + 1,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of result.Items ?? []) {
          const key = transactionOfKey(item[PARTITION_KEY], item[SORT_KEY]);
          const memberGuid = item.memberGuid;
          if (!key || item.userId !== userId || typeof memberGuid !== "string") continue;
          if (filter.memberGuid !== undefined && memberGuid !== filter.memberGuid) continue;
          if (rows.length === limit) {
            const last = rows[rows.length - 1];
            return { rows, next: { accountGuid: last?.accountGuid, afterGuid: last?.transaction.guid } };
          }
          rows.push({
            accountGuid,
            memberGuid,
            transaction: stripUndefinedDeep(transactionSchema.parse(item)),
          });
        }
        startKey = result.LastEvaluatedKey;
      } while (startKey);
    }
    return { rows };
  }

  /** The user's account guids, sorted: its stored accounts plus every account its members' rows went to. */
  private async accountGuids(userId: string, filter: ChangeFilter): Promise<string[]> {
    if (filter.accountGuid !== undefined) return [filter.accountGuid];
    const guids = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          KeyConditionExpression: "#pk = :pk",
          FilterExpression: "#entity IN (:member, :account)",
          ProjectionExpression: "#entity, #sk, #memberGuid, #accountGuids, guid",
          ExpressionAttributeNames: {
            "#pk": PARTITION_KEY,
            "#sk": SORT_KEY,
            "#entity": "entity",
            "#memberGuid": "memberGuid",
            "#accountGuids": "accountGuids",
          },
          ExpressionAttributeValues: { ":pk": userPk(userId), ":member": "member", ":account": "account" },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        if (filter.memberGuid !== undefined && item.memberGuid !== filter.memberGuid) continue;
        if (item.entity === "account" && typeof item.guid === "string") guids.add(item.guid);
        if (item.entity === "member" && item.accountGuids instanceof Set) {
          for (const guid of item.accountGuids) guids.add(String(guid));
        }
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return [...guids].sort();
  }
}

function toChangeEntry(entry: z.infer<typeof entrySchema>): ChangeEntry {
  const base = {
    seq: entry.seq,
    accountGuid: entry.accountGuid,
    memberGuid: entry.memberGuid,
    guid: entry.guid,
  };
  if (entry.op === "upsert" && entry.transaction) {
    return { ...base, op: "upsert", transaction: entry.transaction as Transaction };
  }
  return { ...base, op: "remove" };
}

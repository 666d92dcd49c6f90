// What every store shares: the client, the table, the clock and the batch tuning; and the small item
// helpers they all use to shape what they write.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { BatchWriteOptions, WriteRequest } from "./batch";
import type { Item } from "./keys";

export interface StoreContext {
  doc: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
  batch: BatchWriteOptions;
  /** How long transaction change-log entries are kept (TTL), in days. */
  changeRetentionDays: number;
}

export const isoDate = (date: Date) => date.toISOString();

/** DynamoDB rejects undefined values and the caller's client may not strip them. */
export function defined<T extends Item>(item: T): T {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as T;
}

export function stripUndefinedDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefinedDeep) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, entry]) => entry !== undefined)
        .map(([key, entry]) => [key, stripUndefinedDeep(entry)]),
    ) as T;
  }
  return value;
}

/** The last of each key wins: BatchWriteItem rejects a request naming the same key twice. */
export function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

export const put = (item: Item): WriteRequest => ({ PutRequest: { Item: item } });
export const del = (key: Item): WriteRequest => ({ DeleteRequest: { Key: key } });

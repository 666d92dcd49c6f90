// BatchWriteItem done right: 25 requests a call, several calls in flight (bounded), unprocessed items
// retried with capped exponential backoff and full jitter, a bounded number of attempts, then a typed error.
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** DynamoDB's limit per BatchWriteItem call. */
export const BATCH_WRITE_LIMIT = 25;
/** DynamoDB's limit per BatchGetItem call. */
export const BATCH_GET_LIMIT = 100;

export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> }; DeleteRequest?: never }
  | { DeleteRequest: { Key: Record<string, unknown> }; PutRequest?: never };

export interface BatchWriteOptions {
  /** Calls in flight at once (default 4). */
  concurrency?: number;
  /** Calls per chunk before giving up on its unprocessed items (default 8). */
  maxAttempts?: number;
  /** First retry's backoff ceiling in ms (default 50), doubled per attempt up to maxDelayMs (default 2000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Some items were still unprocessed after every attempt (sustained throttling). */
export class BatchWriteError extends Error {
  override readonly name = "BatchWriteError";
  constructor(
    readonly unprocessed: number,
    readonly attempts: number,
  ) {
    super(`BatchWriteItem left ${unprocessed} item(s) unprocessed after ${attempts} attempts`);
  }
}

/** Some keys were still unprocessed after every attempt (sustained throttling). */
export class BatchGetError extends Error {
  override readonly name = "BatchGetError";
  constructor(
    readonly unprocessed: number,
    readonly attempts: number,
  ) {
    super(`BatchGetItem left ${unprocessed} key(s) unprocessed after ${attempts} attempts`);
  }
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^retry)). */
export function backoffDelayMs(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** retry));
}

/** Writes every request; returns how many were written. Callers must not repeat a key (DynamoDB rejects it). */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions = {},
): Promise<number> {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 8);
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 2000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
    chunks.push(requests.slice(i, i + BATCH_WRITE_LIMIT));
  }

  const writeChunk = async (chunk: WriteRequest[]) => {
    let pending: WriteRequest[] = chunk;
    for (let attempt = 1; ; attempt++) {
      const result = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
      if (pending.length === 0) return;
      if (attempt >= maxAttempts) throw new BatchWriteError(pending.length, attempt);
      await sleep(backoffDelayMs(attempt - 1, baseDelayMs, maxDelayMs, random));
    }
  };

  await inPool(chunks, concurrency, writeChunk);
  return requests.length;
}

/**
 * Reads the items of `keys` (strongly consistent: a row written just before must be seen as it is), 100 a
 * call, with the same pool and retries as batchWrite; returns those that exist, in no particular order.
 * Callers must not repeat a key (DynamoDB rejects it).
 */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: BatchWriteOptions = {},
): Promise<Record<string, unknown>[]> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 8);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
  const found: Record<string, unknown>[] = [];
  await inPool(chunks, Math.max(1, options.concurrency ?? 4), async (chunk) => {
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      const result = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (pending.length === 0) return;
      if (attempt >= maxAttempts) throw new BatchGetError(pending.length, attempt);
      const delay = backoffDelayMs(
        attempt - 1,
        options.baseDelayMs ?? 50,
        options.maxDelayMs ?? 2000,
        random,
      );
      await sleep(delay);
    }
  });
  return found;
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight: each worker takes the next item until none
 * is left; the first error stops the others from taking new items and is rethrown.
 */
export async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, () => worker()),
  );
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (rejected) throw rejected.reason;
}

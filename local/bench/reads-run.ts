// Table 7, reads: p50 and p99 of reading a 100-row page of an account holding 100,000 transactions through
// the local API (GET /v1/accounts/{guid}/transactions?limit=100&cursor=…: JWT authorizer, the handler, the
// store's account check and Query), beside the raw DynamoDB Query that serves it (the same date index, key
// condition, order and start key, Limit 100) on the same dynalite. In its own process; alone it prints JSON:
//
//   npx tsx local/bench/reads-run.ts [--rows 100000] [--reads 300]
import "../polyfills";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { Transaction } from "../../shared/mx/schemas";
import { transactionItem } from "../../shared/storage/bank-data-store";
import { batchWrite, type WriteRequest } from "../../shared/storage/batch";
import { decodeCursor } from "../../shared/storage/cursor";
import {
  PARTITION_KEY,
  SORT_KEY,
  TRANSACTION_DATE_KEY,
  TRANSACTIONS_BY_DATE_INDEX,
} from "../../shared/storage/table";
import { mulberry32 } from "../sandbox/prng";
import { startAll } from "../start";

const optionsSchema = z.object({
  rows: z.coerce.number().int().min(1_000).max(200_000).default(100_000),
  /** Reads of each kind (API and raw), at random pages. */
  reads: z.coerce.number().int().min(10).max(5_000).default(300),
});
export type ReadsOptions = z.input<typeof optionsSchema>;

export interface ReadsResult {
  rows: number;
  reads: number;
  pageSize: number;
  /** Milliseconds, in the order measured. */
  apiMs: number[];
  rawMs: number[];
  seedSeconds: number;
}

const PAGE_SIZE = 100;
const USER = "reads-user";
const MEMBER = "MBR-reads";
const ACCOUNT = "ACT-reads";
const progress = (message: string) => process.stderr.write(`[reads] ${message}\n`);

function transaction(i: number): Transaction {
  return {
    guid: `TRN-reads-${String(i).padStart(6, "0")}`,
    account_guid: ACCOUNT,
    member_guid: MEMBER,
    amount: -((i % 9000) / 100 + 1),
    currency_code: "USD",
    date: new Date(Date.UTC(2025, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10),
    description: `Purchase ${i}`,
    original_description: `POS PURCHASE ${i} SOMEWHERE`,
    status: "POSTED",
    type: "DEBIT",
    category: "Shopping",
    transacted_at: "2025-01-01T12:00:00Z",
  };
}

export async function runReads(input: ReadsOptions = {}): Promise<ReadsResult> {
  const options = optionsSchema.parse(input);
  process.env.LOG_LEVEL = "SILENT";
  const app = await startAll({ jwtKeyFile: null, log: () => {} });
  try {
    const { stores, dynamo } = app.stack;
    // The member and its account through the store's ports, as a sync stores them.
    progress(`seeding ${options.rows.toLocaleString("en-US")} rows`);
    const seedStarted = performance.now();
    await stores.members.putMember({
      userId: USER,
      mxUserGuid: "USR-reads",
      memberGuid: MEMBER,
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
    await stores.bankData.putAccounts(USER, MEMBER, [
      { guid: ACCOUNT, member_guid: MEMBER, name: "Checking", type: "CHECKING", currency_code: "USD" },
    ]);
    // The rows alone (the reads need no change log), built by the store's own item builder, 16 calls in flight.
    const rows: WriteRequest[] = Array.from({ length: options.rows }, (_, i) => ({
      PutRequest: { Item: transactionItem(USER, MEMBER, transaction(i), "reads-seed") },
    }));
    await batchWrite(DynamoDBDocumentClient.from(dynamo.client), dynamo.tableName, rows, { concurrency: 16 });
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // Every page's cursor, walked once through the store (not timed): the reads start at random ones.
    progress("collecting cursors");
    const cursors: (string | undefined)[] = [undefined];
    for (let cursor: string | undefined; ; ) {
      const page = await stores.bankData.listTransactions(USER, ACCOUNT, { limit: PAGE_SIZE, cursor });
      if (!page?.cursor) break;
      cursor = page.cursor;
      cursors.push(cursor);
    }

    const token = await app.issueToken(USER);
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    const keyNames = [PARTITION_KEY, SORT_KEY, TRANSACTION_DATE_KEY] as const;
    const api = async (cursor: string | undefined) => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
      const started = performance.now();
      const response = await fetch(`${app.apiUrl}/v1/accounts/${ACCOUNT}/transactions?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { transactions?: unknown[] };
      const ms = performance.now() - started;
      if (response.status !== 200 || body.transactions?.length !== PAGE_SIZE)
        throw new Error(`The API answered ${response.status} with ${body.transactions?.length} rows`);
      return ms;
    };
    // The pk of the account's partition comes from a cursor the store issued (no key built here).
    const firstKey = decodeCursor(cursors[1] ?? "", keyNames);
    const raw = async (cursor: string | undefined) => {
      const started = performance.now();
      const result = await doc.send(
        new QueryCommand({
          TableName: dynamo.tableName,
          IndexName: TRANSACTIONS_BY_DATE_INDEX,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":pk": firstKey[PARTITION_KEY] },
          ScanIndexForward: false,
          Limit: PAGE_SIZE,
          ExclusiveStartKey: cursor ? decodeCursor(cursor, keyNames) : undefined,
        }),
      );
      const ms = performance.now() - started;
      if (result.Items?.length !== PAGE_SIZE)
        throw new Error(`The Query returned ${result.Items?.length} rows`);
      return ms;
    };

    // Warm-up (handler import, JIT), then both kinds alternate over the same random pages.
    progress(`${options.reads} reads of each kind`);
    const random = mulberry32(20111101);
    const pick = () => cursors[Math.floor(random() * (cursors.length - 1))];
    for (let i = 0; i < 20; i++) {
      const cursor = pick();
      await api(cursor);
      await raw(cursor);
    }
    const apiMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < options.reads; i++) {
      const cursor = pick();
      if (i % 2) {
        apiMs.push(await api(cursor));
        rawMs.push(await raw(cursor));
      } else {
        rawMs.push(await raw(cursor));
        apiMs.push(await api(cursor));
      }
    }
    return { rows: options.rows, reads: options.reads, pageSize: PAGE_SIZE, apiMs, rawMs, seedSeconds };
  } finally {
    await app.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { rows: { type: "string" }, reads: { type: "string" } } });
  const result = await runReads({ rows: values.rows, reads: values.reads });
  if (process.send) process.send(result, () => process.exit(0));
  else
    console.log(
      JSON.stringify({ ...result, apiMs: result.apiMs.length, rawMs: result.rawMs.length }, null, 2),
    );
}

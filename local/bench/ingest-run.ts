// Table 1, ingest: a large member's first sync, from the poll that saw its data ready (CONNECTED) to the
// last transactions page stored, beside (a) the storage floor: the very items the run stored, written
// straight into a fresh table of the same dynalite with BatchWriteItem at the run's concurrency (rows only,
// then rows + their change-log entries), and (b) a naive pipeline: MX pages of 25, one PutItem per row, in
// sequence. In its own process (one embedded stack per process); alone it prints JSON:
//
//   npx tsx local/bench/ingest-run.ts [--accounts 20] [--transactions 2500] [--mx-latency-ms 30] [--naive-rows 5000]
import "../polyfills";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { createMxClient } from "../../shared/mx/client";
import { batchWrite, type WriteRequest } from "../../shared/storage/batch";
import { createStores } from "../../shared/storage/dynamo";
import { createTable } from "../dynamo";
import { startLocalStack } from "../stack";
import { type Bench, connectMember, countTransactions, mapMaxConcurrency, PAGE_STATES } from "./sync-run";

const optionsSchema = z.object({
  accounts: z.coerce.number().int().min(1).max(50).default(20),
  transactions: z.coerce.number().int().min(1).max(100_000).default(2_500),
  /** Added to every MX request by the sandbox: stands in for MX's round trip. */
  mxLatencyMs: z.coerce.number().int().min(0).max(5_000).default(30),
  /** Rows the naive pipeline is timed on (it is slow); its time is scaled to every row. */
  naiveRows: z.coerce.number().int().min(25).max(100_000).default(2_500),
});
export type IngestOptions = z.input<typeof optionsSchema>;

/** The batch writer's calls in flight per putTransactions (BatchWriteOptions' default, shared/storage/batch.ts). */
const BATCH_CONCURRENCY = 4;
/** The naive pipeline's page size (MX's default records_per_page). */
const NAIVE_PAGE_SIZE = 25;
/** The warm-up member's rows: a few pages a window, so the Map runs too. */
const WARM_UP_ROWS = 2_100;

export interface IngestResult {
  accounts: number;
  mxLatencyMs: number;
  /** Transaction rows the run stored (DynamoDB count). */
  rows: number;
  /** Change-log entries stored for them. */
  changeEntries: number;
  pagesRead: number;
  windows: number;
  /** The transactions Map's MaxConcurrency × the batch writer's calls in flight per page. */
  writeConcurrency: number;
  /** CONNECTED (the poll before the first transactions page) → the last page task's end. */
  productSeconds: number;
  /** The whole execution, start to end (extended history's MX job included). */
  executionSeconds: number;
  floorRowsSeconds: number;
  floorWithChangesSeconds: number;
  /** The naive pipeline's time on `naiveRowsTimed` rows, scaled to `rows`. */
  naiveSeconds: number;
  naiveRowsTimed: number;
}

const beginSchema = z.object({
  begin: z.object({ windows: z.array(z.object({ from: z.string(), to: z.string() })) }),
});
const pollSchema = z.object({ poll: z.object({ phase: z.string() }) });

/** Progress on stderr (stdout carries the result when run alone). */
const progress = (message: string) => process.stderr.write(`[ingest] ${message}\n`);
const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;

export async function runIngest(input: IngestOptions = {}): Promise<IngestResult> {
  const options = optionsSchema.parse(input);
  const context = JSON.parse(process.env.CDK_CONTEXT_JSON ?? "{}") as Record<string, unknown>;
  // Extended history: the sandbox shows the member's whole year (MX's 90 days otherwise).
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, extendedHistory: "true" });
  const stack = await startLocalStack({
    sandbox: {
      aggregationMs: 300,
      accountsPerMember: options.accounts,
      transactionsPerAccount: Math.ceil(WARM_UP_ROWS / options.accounts),
      faults: { latencyMs: options.mxLatencyMs },
    },
    env: { LOG_LEVEL: "ERROR" },
  });
  try {
    const sandbox = stack.sandbox;
    if (!sandbox)
      throw new Error(
        "The ingest benchmark needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)",
      );
    const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
    const bench: Bench = { stack, sandbox, stores: createStores({ doc, tableName: stack.dynamo.tableName }) };
    const { workflow } = stack;

    progress("warm-up sync");
    // Warm-up: handler imports, SDK clients and JIT are paid outside the measured run.
    const warmUp = await workflow.waitForExecution(
      workflow.startExecution(await connectMember(bench), "ingest-warm-up").executionArn,
    );
    if (warmUp.status !== "SUCCEEDED") throw new Error(`The warm-up run ended ${warmUp.status}`);

    sandbox.setKnobs({ transactionsPerAccount: options.transactions });
    const request = await connectMember(bench);
    progress(`first sync of ${options.accounts} × ${options.transactions} transactions`);
    const started = performance.now();
    const { executionArn } = workflow.startExecution(request, "ingest-run");
    const result = await workflow.waitForExecution(executionArn);
    const executionSeconds = seconds(started);
    if (result.status !== "SUCCEEDED") throw new Error(`The measured run ended ${result.status}`);

    let connectedAt: number | undefined;
    let firstPageAt: number | undefined;
    let lastPageEnd = 0;
    let pagesRead = 0;
    let windows: { from: string; to: string }[] = [];
    for (const event of workflow.stepFunctions.history(executionArn)) {
      if (!("state" in event)) continue;
      const { name } = event.state;
      if (event.type === "StateExited" && name === "Begin")
        windows = beginSchema.safeParse(event.state.output).data?.begin.windows ?? [];
      // The poll that saw the data ready: the last CONNECTED before the first page (after extended history's job).
      if (
        event.type === "StateExited" &&
        name === "Poll" &&
        firstPageAt === undefined &&
        pollSchema.safeParse(event.state.output).data?.poll.phase === "CONNECTED"
      )
        connectedAt = event.timestamp;
      if (event.type === "StateEntered" && PAGE_STATES.has(name)) {
        firstPageAt ??= event.timestamp;
        pagesRead += 1;
      }
      if (event.type === "StateExited" && PAGE_STATES.has(name))
        lastPageEnd = Math.max(lastPageEnd, event.timestamp);
    }
    if (connectedAt === undefined || firstPageAt === undefined)
      throw new Error("No CONNECTED poll or no page in the history");
    const rows = await countTransactions(bench, request.userId);
    const mapConcurrency = mapMaxConcurrency(workflow.definitions.sync ?? null) ?? 1;
    const writeConcurrency = mapConcurrency * BATCH_CONCURRENCY;

    progress("reading the stored items back");
    // The items exactly as the run stored them: its rows and their change-log entries (not timed).
    const stored: Record<string, unknown>[] = [];
    const changes: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: stack.dynamo.tableName,
          FilterExpression: "#userId = :userId AND #entity = :transaction OR #entity = :change",
          ExpressionAttributeNames: { "#userId": "userId", "#entity": "entity" },
          ExpressionAttributeValues: {
            ":userId": request.userId,
            ":transaction": "transaction",
            ":change": "change",
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) (item.entity === "change" ? changes : stored).push(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const ownChanges = changes.filter((entry) => entry.memberGuid === request.memberGuid);
    if (stored.length !== rows) throw new Error(`Scanned ${stored.length} rows, counted ${rows}`);

    const floor = async (table: string, items: Record<string, unknown>[]) => {
      await createTable(stack.dynamo.client, table);
      const requests: WriteRequest[] = items.map((item) => ({ PutRequest: { Item: item } }));
      const startedMs = performance.now();
      await batchWrite(doc, table, requests, { concurrency: writeConcurrency });
      return seconds(startedMs);
    };
    progress("storage floors");
    const floorRowsSeconds = await floor("ingest-floor-rows", stored);
    const floorWithChangesSeconds = await floor("ingest-floor-changes", [...stored, ...ownChanges]);

    progress("naive pipeline");
    // Naive: every window read 25 rows a page, each row put on its own, one after another.
    const byGuid = new Map(stored.map((item) => [String(item.guid), item]));
    const mx = createMxClient({
      baseUrl: sandbox.url,
      credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    });
    await createTable(stack.dynamo.client, "ingest-naive");
    let naiveRowsTimed = 0;
    const naiveStarted = performance.now();
    naive: for (const window of windows) {
      for (let page = 1; ; page++) {
        const result = await mx.listTransactions(request.mxUserGuid, request.memberGuid, {
          fromDate: window.from,
          toDate: window.to,
          page,
          recordsPerPage: NAIVE_PAGE_SIZE,
        });
        for (const transaction of result.items) {
          const item = byGuid.get(transaction.guid);
          if (!item) throw new Error(`MX row ${transaction.guid} was not stored by the run`);
          await doc.send(new PutCommand({ TableName: "ingest-naive", Item: item }));
          naiveRowsTimed += 1;
        }
        if (naiveRowsTimed >= options.naiveRows) break naive;
        if (page >= result.pagination.total_pages) break;
      }
    }
    const naiveTimed = seconds(naiveStarted);

    return {
      accounts: options.accounts,
      mxLatencyMs: options.mxLatencyMs,
      rows,
      changeEntries: ownChanges.length,
      pagesRead,
      windows: windows.length,
      writeConcurrency,
      productSeconds: (lastPageEnd - connectedAt) / 1000,
      executionSeconds,
      floorRowsSeconds,
      floorWithChangesSeconds,
      naiveSeconds: (naiveTimed * rows) / naiveRowsTimed,
      naiveRowsTimed,
    };
  } finally {
    await stack.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      accounts: { type: "string" },
      transactions: { type: "string" },
      "mx-latency-ms": { type: "string" },
      "naive-rows": { type: "string" },
    },
  });
  const result = await runIngest({
    accounts: values.accounts,
    transactions: values.transactions,
    mxLatencyMs: values["mx-latency-ms"],
    naiveRows: values["naive-rows"],
  });
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

// One variant of the sync benchmark, in its own process (handlers cache their configuration, so there is
// one embedded stack per process): the synthesized state machine and the real handlers on the embedded
// stack, synthesized with `-c extendedHistory=true` (the first sync asks MX for up to 24 months: a year of
// a large member's transactions rather than MX's standard 90 days); first syncs of large members (the
// median wall time of `repeats` runs, each on a fresh member).
//
//   npx tsx local/bench/sync-run.ts [--page-concurrency 1] [--repeats 3]
//                                   [--accounts 3] [--transactions 5000] [--mx-latency-ms 30]
//
// Prints the figures as JSON (or sends them to the parent process when forked with an IPC channel).
import "../polyfills";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { createMxClient } from "../../shared/mx/client";
import { createStores, type Stores } from "../../shared/storage/dynamo";
import type { SyncRequest } from "../../shared/sync/contract";
import type { Sandbox } from "../sandbox";
import { connectMxbankMember } from "../sandbox-member";
import { type LocalStack, startLocalStack } from "../stack";
import type { Json } from "../workflow/asl";

const optionsSchema = z.object({
  /** The transactions Map's MaxConcurrency; absent = the product default from the definition. */
  pageConcurrency: z.coerce.number().int().min(1).max(40).optional(),
  /** Measured first syncs (each on a fresh member); the wall time reported is their median. */
  repeats: z.coerce.number().int().min(1).max(9).default(1),
  accounts: z.coerce.number().int().min(1).max(50).default(3),
  transactions: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /** Added to every MX request by the sandbox: stands in for MX's round trip. */
  mxLatencyMs: z.coerce.number().int().min(0).max(5_000).default(30),
});
export type SyncRunOptions = z.input<typeof optionsSchema>;

export interface RunFigures {
  status: string;
  outcome: string;
  wallSeconds: number;
  mxRequests: number;
  statusPolls: number;
  pagesRead: number;
  /** Transaction windows (each at most MAX_TRANSACTION_WINDOW_DAYS) the run read, from Begin's output. */
  windows: number;
  /** Transaction rows this run wrote (stamped with its syncRun), counted in DynamoDB. */
  rowsWritten: number;
  /** Every transaction row of the member in DynamoDB after the run. */
  transactionsStored: number;
  /** Largest state input/output in the execution's history (Step Functions caps it at 256 KB). */
  largestStateBytes: number;
  outputBytes: number;
}

export interface SyncRunResult {
  /** MaxConcurrency of the transactions Map as synthesized (read back from the definition run). */
  mapMaxConcurrency: number | undefined;
  /** The first measured first sync, with the median wall time of all of them. */
  initial: RunFigures;
  /** Every measured first sync's wall time, in run order. */
  initialWallSeconds: number[];
}

/** Transactions per account of the warm-up member: a few pages, so the Map runs too. */
const WARM_UP_TRANSACTIONS = 700;
export const PAGE_STATES = new Set(["StoreFirstTransactionsPage", "StoreTransactionsPage"]);

/** The transaction pages Map's MaxConcurrency anywhere in the definition (Parallel and Map nesting included). */
export function mapMaxConcurrency(node: Json): number | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = mapMaxConcurrency(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof node !== "object" || node === null) return undefined;
  if (node.Type === "Map" && node.ItemsPath === "$.pageList.pages" && typeof node.MaxConcurrency === "number")
    return node.MaxConcurrency;
  return mapMaxConcurrency(Object.values(node));
}

const beginOutputSchema = z.object({ begin: z.object({ windows: z.array(z.unknown()) }) });
const windowsOf = (output: unknown) => beginOutputSchema.safeParse(output).data?.begin.windows.length ?? 0;

const bytes = (value: unknown) => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value)));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export interface Bench {
  stack: LocalStack;
  sandbox: Sandbox;
  stores: Stores;
}

/**
 * The user's transaction rows (one member per benchmark user), optionally only those `syncRun` wrote,
 * counted by the store per account (keys are built in shared/storage only).
 */
export async function countTransactions(bench: Bench, userId: string, syncRun?: string): Promise<number> {
  let count = 0;
  for (const account of await bench.stores.bankData.listAccounts(userId)) {
    count += await bench.stores.bankData.countTransactions(userId, account.guid, syncRun ? { syncRun } : {});
  }
  return count;
}

/** Runs one sync execution to its end and measures it. */
async function runOnce(bench: Bench, request: SyncRequest, name: string): Promise<RunFigures> {
  const { workflow } = bench.stack;
  const requestsBefore = bench.sandbox.stats().requests;
  const started = performance.now();
  const { executionArn } = workflow.startExecution(request, name);
  const result = await workflow.waitForExecution(executionArn);
  const wallSeconds = (performance.now() - started) / 1000;
  const mxRequests = bench.sandbox.stats().requests - requestsBefore;

  let statusPolls = 0;
  let pagesRead = 0;
  let largestStateBytes = 0;
  let windows = 0;
  for (const event of workflow.stepFunctions.history(executionArn)) {
    if (!("state" in event)) continue;
    if (event.type === "StateEntered" && event.state.name === "Poll") statusPolls += 1;
    if (event.type === "StateEntered" && PAGE_STATES.has(event.state.name)) pagesRead += 1;
    if (event.type === "StateExited" && event.state.name === "Begin") windows = windowsOf(event.state.output);
    largestStateBytes = Math.max(largestStateBytes, bytes(event.state.input), bytes(event.state.output));
  }
  const output = result.output;
  const outcome =
    typeof output === "object" && output !== null && !Array.isArray(output) ? String(output.outcome) : "none";
  return {
    status: result.status,
    outcome,
    wallSeconds,
    mxRequests,
    statusPolls,
    pagesRead,
    windows,
    rowsWritten: await countTransactions(bench, request.userId, name),
    transactionsStored: await countTransactions(bench, request.userId),
    largestStateBytes,
    outputBytes: bytes(output),
  };
}

/** A member connected at MX and recorded as the API would, ready for its first sync. */
export async function connectMember(bench: Bench): Promise<SyncRequest> {
  const mx = createMxClient({
    baseUrl: bench.sandbox.url,
    credentials: { clientId: bench.sandbox.clientId, apiKey: bench.sandbox.apiKey },
  });
  return (await connectMxbankMember({ mx, members: bench.stores.members }, "bench-password")).request;
}

export async function runSyncVariant(input: SyncRunOptions = {}): Promise<SyncRunResult> {
  const options = optionsSchema.parse(input);
  // CDK's standard channel for context (what `cdk synth -c key=value` uses): read by buildApp at synth.
  const context = JSON.parse(process.env.CDK_CONTEXT_JSON ?? "{}") as Record<string, unknown>;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({
    ...context,
    extendedHistory: "true",
    ...(options.pageConcurrency !== undefined
      ? { transactionPageConcurrency: String(options.pageConcurrency) }
      : {}),
  });
  const stack = await startLocalStack({
    sandbox: {
      aggregationMs: 300,
      accountsPerMember: options.accounts,
      transactionsPerAccount: WARM_UP_TRANSACTIONS,
      faults: { latencyMs: options.mxLatencyMs },
    },
    env: { LOG_LEVEL: "ERROR" },
  });
  try {
    const sandbox = stack.sandbox;
    if (!sandbox)
      throw new Error("The sync benchmark needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)");
    const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
    const bench: Bench = { stack, sandbox, stores: createStores({ doc, tableName: stack.dynamo.tableName }) };

    // Warm-up on a small member (a few pages): handler imports, SDK clients and JIT are paid outside the
    // measured runs, so the variants compare work rather than start-up.
    const warmUp = await runOnce(bench, await connectMember(bench), "bench-warm-up");
    if (warmUp.outcome !== "SYNCED")
      throw new Error(`The warm-up run ended ${warmUp.status} ${warmUp.outcome}`);

    // A member's data size is fixed when its aggregation starts, i.e. at create.
    sandbox.setKnobs({ transactionsPerAccount: options.transactions });
    const runs: { request: SyncRequest; figures: RunFigures }[] = [];
    for (let i = 1; i <= options.repeats; i++) {
      const request = await connectMember(bench);
      runs.push({ request, figures: await runOnce(bench, request, `bench-initial-${i}`) });
    }
    const [first] = runs;
    if (!first) throw new Error("No measured run");
    const initialWallSeconds = runs.map((run) => run.figures.wallSeconds);
    return {
      mapMaxConcurrency: mapMaxConcurrency(stack.workflow.definitions.sync ?? null),
      initial: { ...first.figures, wallSeconds: median(initialWallSeconds) },
      initialWallSeconds,
    };
  } finally {
    await stack.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      "page-concurrency": { type: "string" },
      repeats: { type: "string" },
      accounts: { type: "string" },
      transactions: { type: "string" },
      "mx-latency-ms": { type: "string" },
    },
  });
  const result = await runSyncVariant({
    pageConcurrency: values["page-concurrency"],
    repeats: values.repeats,
    accounts: values.accounts,
    transactions: values.transactions,
    mxLatencyMs: values["mx-latency-ms"],
  });
  // Forked by local/bench: answer over IPC (stdout also carries the handlers' logs); alone: print JSON.
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

// One variant of the sync benchmark, in its own process (handlers cache their configuration, so there is
// one embedded stack per process): the synthesized state machine and the real handlers on the embedded
// stack, a first sync of one large member, then optionally a scheduled-style refresh of the same member.
//
//   npx tsx local/bench/sync-run.ts [--page-concurrency 1] [--refresh] [--accounts 3] [--transactions 10000]
//
// Prints the figures as JSON (or sends them to the parent process when forked with an IPC channel).
import "../polyfills";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ScanCommand, type ScanCommandInput } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { createMxClient } from "../../shared/mx/client";
import { createStores } from "../../shared/storage/dynamo";
import type { SyncRequest } from "../../shared/sync/contract";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID, TEST_USERNAME } from "../sandbox";
import { type LocalStack, startLocalStack } from "../stack";
import type { Json } from "../workflow/asl";

const optionsSchema = z.object({
  /** The transactions Map's MaxConcurrency; absent = the product default from the definition. */
  pageConcurrency: z.coerce.number().int().min(1).max(40).optional(),
  refresh: z.boolean().default(false),
  accounts: z.coerce.number().int().min(1).max(50).default(3),
  transactions: z.coerce.number().int().min(1).max(100_000).default(10_000),
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
  initial: RunFigures;
  refresh?: RunFigures;
}

/** Transactions per account of the warm-up member: a few pages, so the Map runs too. */
const WARM_UP_TRANSACTIONS = 700;
const PAGE_STATES = new Set(["StoreFirstTransactionsPage", "StoreTransactionsPage"]);

/** The first Map state's MaxConcurrency anywhere in the definition (Parallel branches included). */
function mapMaxConcurrency(node: Json): number | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = mapMaxConcurrency(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof node !== "object" || node === null) return undefined;
  if (node.Type === "Map" && typeof node.MaxConcurrency === "number") return node.MaxConcurrency;
  return mapMaxConcurrency(Object.values(node));
}

async function countItems(
  stack: LocalStack,
  filter: Pick<
    ScanCommandInput,
    "FilterExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
  >,
): Promise<number> {
  let count = 0;
  let start: ScanCommandInput["ExclusiveStartKey"];
  do {
    const page = await stack.dynamo.client.send(
      new ScanCommand({
        TableName: stack.dynamo.tableName,
        Select: "COUNT",
        ExclusiveStartKey: start,
        ...filter,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

const bytes = (value: unknown) => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value)));

async function runOnce(stack: LocalStack, request: SyncRequest, name: string): Promise<RunFigures> {
  const sandbox = stack.sandbox;
  if (!sandbox)
    throw new Error("The sync benchmark needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)");
  const requestsBefore = sandbox.stats().requests;
  const started = performance.now();
  const { executionArn } = stack.workflow.startExecution(request, name);
  const result = await stack.workflow.waitForExecution(executionArn);
  const wallSeconds = (performance.now() - started) / 1000;
  const mxRequests = sandbox.stats().requests - requestsBefore;

  let statusPolls = 0;
  let pagesRead = 0;
  let largestStateBytes = 0;
  for (const event of stack.workflow.stepFunctions.history(executionArn)) {
    if (!("state" in event)) continue;
    if (event.type === "StateEntered" && event.state.name === "Poll") statusPolls += 1;
    if (event.type === "StateEntered" && PAGE_STATES.has(event.state.name)) pagesRead += 1;
    largestStateBytes = Math.max(largestStateBytes, bytes(event.state.input), bytes(event.state.output));
  }
  const output = result.output;
  const outcome =
    typeof output === "object" && output !== null && !Array.isArray(output) ? String(output.outcome) : "none";
  const transactions = { "#entity": "entity", "#member": "memberGuid" };
  const values = { ":transaction": { S: "transaction" }, ":member": { S: request.memberGuid } };
  return {
    status: result.status,
    outcome,
    wallSeconds,
    mxRequests,
    statusPolls,
    pagesRead,
    rowsWritten: await countItems(stack, {
      FilterExpression: "#entity = :transaction AND #member = :member AND #run = :run",
      ExpressionAttributeNames: { ...transactions, "#run": "syncRun" },
      ExpressionAttributeValues: { ...values, ":run": { S: name } },
    }),
    transactionsStored: await countItems(stack, {
      FilterExpression: "#entity = :transaction AND #member = :member",
      ExpressionAttributeNames: transactions,
      ExpressionAttributeValues: values,
    }),
    largestStateBytes,
    outputBytes: bytes(output),
  };
}

export async function runSyncVariant(input: SyncRunOptions = {}): Promise<SyncRunResult> {
  const options = optionsSchema.parse(input);
  if (options.pageConcurrency !== undefined) {
    // CDK's standard channel for context (what `cdk synth -c key=value` uses): read by buildApp at synth.
    const context = JSON.parse(process.env.CDK_CONTEXT_JSON ?? "{}") as Record<string, unknown>;
    process.env.CDK_CONTEXT_JSON = JSON.stringify({
      ...context,
      transactionPageConcurrency: String(options.pageConcurrency),
    });
  }
  const stack = await startLocalStack({
    sandbox: {
      aggregationMs: 300,
      accountsPerMember: options.accounts,
      transactionsPerAccount: options.transactions,
      faults: { latencyMs: options.mxLatencyMs },
    },
    env: { LOG_LEVEL: "ERROR" },
  });
  try {
    const sandbox = stack.sandbox;
    if (!sandbox)
      throw new Error("The sync benchmark needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)");
    const mx = createMxClient({
      baseUrl: sandbox.url,
      credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    });
    const stores = createStores({
      doc: DynamoDBDocumentClient.from(stack.dynamo.client),
      tableName: stack.dynamo.tableName,
    });
    /** A member connected at MX and recorded as the API would, ready for its first sync. */
    const connect = async (): Promise<SyncRequest> => {
      const userId = `bench-${randomUUID()}`;
      const user = await mx.createUser({ id: userId });
      const member = await mx.createMember(user.guid, {
        institutionCode: "mxbank",
        id: `bench-member-${randomUUID()}`,
        credentials: [
          { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
          { guid: MXBANK_PASSWORD_GUID, value: "bench-password" },
        ],
      });
      await stores.members.putMember({
        userId,
        mxUserGuid: user.guid,
        memberGuid: member.guid,
        institutionCode: "mxbank",
        isOauth: false,
        identify: false,
      });
      return { userId, mxUserGuid: user.guid, memberGuid: member.guid, identify: false, mode: "initial" };
    };

    // Warm-up on a small member (a few pages): handler imports, SDK clients and JIT are paid outside the
    // measured run, so variants compare work rather than start-up.
    sandbox.setKnobs({ transactionsPerAccount: WARM_UP_TRANSACTIONS });
    const warmUp = await runOnce(stack, await connect(), "bench-warm-up");
    if (warmUp.outcome !== "SYNCED")
      throw new Error(`The warm-up run ended ${warmUp.status} ${warmUp.outcome}`);
    sandbox.setKnobs({ transactionsPerAccount: options.transactions });

    const request = await connect();
    const initial = await runOnce(stack, request, "bench-initial");
    const refresh = options.refresh
      ? await runOnce(stack, { ...request, mode: "refresh" }, "bench-refresh")
      : undefined;
    return {
      mapMaxConcurrency: mapMaxConcurrency(stack.workflow.definitions.sync ?? null),
      initial,
      ...(refresh ? { refresh } : {}),
    };
  } finally {
    await stack.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      "page-concurrency": { type: "string" },
      refresh: { type: "boolean" },
      accounts: { type: "string" },
      transactions: { type: "string" },
      "mx-latency-ms": { type: "string" },
    },
  });
  const result = await runSyncVariant({
    pageConcurrency: values["page-concurrency"],
    refresh: values.refresh,
    accounts: values.accounts,
    transactions: values.transactions,
    mxLatencyMs: values["mx-latency-ms"],
  });
  // Forked by local/bench: answer over IPC (stdout also carries the handlers' logs); alone: print JSON.
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

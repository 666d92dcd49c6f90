// What a member costs in AWS, counted on the embedded stack over real HTTP (`startAll`): its connection
// (POST /v1/members and the workflow), the background refresh with a day of new data (the sandbox
// aggregates by itself and POSTs its webhook to the local API; the webhook Lambda enqueues; the consumer
// reads), the sweep's check when nothing is new, a foreground refresh (POST …/sync through the workflow)
// and a changes-feed read of the day's changes. Counted per case: MX calls (the sandbox's), transaction
// rows written, API Gateway requests, Lambda invocations and handler time (measured, plus an assumed MX
// latency per call, which the Lambda waits for), Step Functions transitions (states entered), SQS requests
// (local SQS), DynamoDB read/write units (a proxy in front of dynalite asks each call for ConsumedCapacity
// and adds the index writes dynalite does not count), priced from prices.ts; each beside its floor.
//
//   npx tsx local/bench/refresh-cost.ts [--mx-latency-ms 250]    # a Markdown table
//
// Forked with an IPC channel (by local/bench/refresh.ts) it sends its figures to the parent instead.
import "../polyfills";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as z from "zod";
import { PENDING_OF, TRANSACTION_DATE_KEY } from "../../shared/storage/table";
import { createConnectClient } from "../client";
import { TEST_USERNAME } from "../sandbox/index";
import type { LocalStackOptions } from "../stack";
import { startAll } from "../start";
import { LAMBDA_MEMORY_MB, PRICES } from "./prices";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The app's page size on the changes feed (the feed's maximum). */
const FEED_PAGE = 500;
/**
 * Issue #13's member: 20 accounts and 2,000 transactions in MX's 90 days (the sandbox spreads
 * transactionsPerAccount over 365 days: 406 a year is ~100 in 90 days, and ~1.1 new a day per account).
 */
export const COST_MEMBER = { accounts: 20, transactionsPerAccount: 406 } as const;

/** The API and embedded stack the cost and MX-call benchmarks run on: quiet, fast waits, the issue's member. */
export function startCostStack(stack: Omit<LocalStackOptions, "sandbox" | "waitScale"> = {}) {
  process.env.LOG_LEVEL = "SILENT";
  return startAll({
    jwtKeyFile: null,
    log: () => {},
    stack: {
      sandbox: {
        aggregationMs: 30,
        accountsPerMember: COST_MEMBER.accounts,
        transactionsPerAccount: COST_MEMBER.transactionsPerAccount,
      },
      waitScale: 0.002,
      ...stack,
    },
  });
}

export interface CaseCost {
  mxCalls: number;
  /** Transaction rows put (BatchWriteItem PutRequests of transaction items). */
  rowsWritten: number;
  apiRequests: number;
  lambdaInvocations: number;
  /** Measured handler time plus mxCalls × the assumed MX latency. */
  billedLambdaMs: number;
  stateTransitions: number;
  sqsRequests: number;
  readUnits: number;
  writeUnits: number;
  costUsd: number;
}

export interface RefreshCostResult {
  mxLatencyMs: number;
  lambdaMemoryMb: number;
  accounts: number;
  transactionsPerAccount: number;
  /** Transactions stored after the connection (DynamoDB count). */
  transactionsStored: number;
  firstSync: CaseCost;
  /** The day after: MX's background aggregation, its webhook, the consumer's read. */
  dayOfNewData: CaseCost;
  /** The sweep's check of the same member when MX has nothing new. */
  nothingNew: CaseCost;
  /** POST /v1/members/{guid}/sync: the workflow asks MX to aggregate, polls, reads what changed. */
  foregroundRefresh: CaseCost;
  /** GET /v1/transactions/sync from the cursor saved before the day of new data, to its end. */
  feedRead: CaseCost & { changesRead: number };
  /** What each case must cost at least (see floorOf). */
  floors: Record<CostCase, CaseCost>;
}

export type CostCase = "firstSync" | "dayOfNewData" | "nothingNew" | "foregroundRefresh" | "feedRead";

type Counted = Omit<CaseCost, "costUsd" | "billedLambdaMs"> & { handlerMs: number };

export function costOf(counted: Counted, mxLatencyMs: number): CaseCost {
  const billedLambdaMs = Math.ceil(counted.handlerMs + counted.mxCalls * mxLatencyMs);
  const gbSeconds = (billedLambdaMs / 1000) * (LAMBDA_MEMORY_MB / 1024);
  const costUsd =
    counted.apiRequests * PRICES.httpApiRequest +
    counted.lambdaInvocations * PRICES.lambdaRequest +
    gbSeconds * PRICES.lambdaGbSecond +
    counted.stateTransitions * PRICES.sfnTransition +
    counted.sqsRequests * PRICES.sqsRequest +
    counted.readUnits * PRICES.dynamoRead +
    counted.writeUnits * PRICES.dynamoWrite;
  const { handlerMs: _, ...rest } = counted;
  return { ...rest, billedLambdaMs, costUsd };
}

interface Forwarding {
  /** The request body to send on (default: as received). */
  rewrite?(req: IncomingMessage, body: string): string;
  /** Each exchange once answered, with its round trip. */
  observe?(req: IncomingMessage, body: string, answer: string, ms: number): void;
}

/** A plain HTTP forwarder to `target()` that lets the bench see (and annotate) each exchange. */
function forwarder(target: () => string, forwarding: Forwarding) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const started = performance.now();
      const received = Buffer.concat(chunks).toString("utf8");
      const body = forwarding.rewrite?.(req, received) ?? received;
      const url = new URL(target());
      const forward = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, "content-length": Buffer.byteLength(body) },
        },
        (answer) => {
          const out: Buffer[] = [];
          answer.on("data", (c: Buffer) => out.push(c));
          answer.on("end", () => {
            const text = Buffer.concat(out).toString("utf8");
            forwarding.observe?.(req, body, text, performance.now() - started);
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(text);
          });
        },
      );
      forward.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
}

const consumedSchema = z.object({
  ConsumedCapacity: z
    .union([
      z.object({ CapacityUnits: z.number().optional() }),
      z.array(z.object({ CapacityUnits: z.number().optional() })),
    ])
    .optional(),
});
const batchWriteSchema = z.object({
  RequestItems: z
    .record(
      z.string(),
      z.array(z.object({ PutRequest: z.object({ Item: z.record(z.string(), z.unknown()) }).optional() })),
    )
    .optional(),
});

/**
 * The least a case could cost, from what it must do: the same MX calls (their latency billed in one
 * Lambda invocation), the same user-facing API requests, every changed transaction written once at 1 WRU
 * (a row ≤ 1 KB, no index, no change log) or, for a read, read once eventually consistent (≤ 1 KB a row:
 * 1/8 RRU); no workflow, no queue, no handler CPU.
 */
export function floorOf(counted: CaseCost, mxLatencyMs: number, rowsRead = 0): CaseCost {
  return costOf(
    {
      mxCalls: counted.mxCalls,
      rowsWritten: counted.rowsWritten,
      apiRequests: counted.apiRequests,
      lambdaInvocations: 1,
      handlerMs: 0,
      stateTransitions: 0,
      sqsRequests: 0,
      readUnits: rowsRead / 8,
      writeUnits: counted.rowsWritten,
    },
    mxLatencyMs,
  );
}

/** DynamoDB totals through the proxy. */
const dynamo = { read: 0, write: 0, rows: 0 };

/** Each transaction row also writes the date LSI, and a pending one the pending GSI (1 KB units). */
function countBatchWrite(body: unknown): void {
  const parsed = batchWriteSchema.safeParse(body);
  if (!parsed.success) return;
  for (const request of Object.values(parsed.data.RequestItems ?? {}).flat()) {
    const item = request.PutRequest?.Item;
    if (!item || !(TRANSACTION_DATE_KEY in item)) continue;
    dynamo.rows += 1;
    const kb = Math.ceil(JSON.stringify(item).length / 1024);
    dynamo.write += kb;
    if (PENDING_OF in item) dynamo.write += kb;
  }
}

export async function measureRefreshCost(mxLatencyMs = 250): Promise<RefreshCostResult> {
  let dynamoTarget = "";
  const operationOf = (req: IncomingMessage) => String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
  const counted = (operation: string, body: string) =>
    Boolean(body) && operation !== "DescribeTable" && operation !== "CreateTable";
  const dynamoProxy = forwarder(() => dynamoTarget, {
    rewrite(req, body) {
      const operation = operationOf(req);
      if (!counted(operation, body)) return body;
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (operation === "BatchWriteItem") countBatchWrite(parsed);
      return JSON.stringify({ ...parsed, ReturnConsumedCapacity: "TOTAL" });
    },
    observe(req, body, answer) {
      const operation = operationOf(req);
      if (!counted(operation, body)) return;
      const consumed = consumedSchema.safeParse(JSON.parse(answer || "{}"));
      const units = [consumed.data?.ConsumedCapacity ?? []]
        .flat()
        .reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (/^(Get|BatchGet|Query|Scan)/.test(operation)) dynamo.read += units;
      else dynamo.write += units;
    },
  });
  // MX's webhooks pass through here on their way to the API: each is one webhook Lambda invocation.
  let apiUrl = "";
  const webhooks = { invocations: 0, ms: 0 };
  const webhookProxy = forwarder(() => apiUrl, {
    observe(_req, _body, _answer, ms) {
      webhooks.invocations += 1;
      webhooks.ms += ms;
    },
  });
  const listen = async (server: ReturnType<typeof createServer>) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const dynamoProxyUrl = await listen(dynamoProxy);
  const webhookProxyUrl = await listen(webhookProxy);

  const app = await startCostStack({
    webhookUrl: `${webhookProxyUrl}/v1/mx/webhooks`,
    env: { AWS_ENDPOINT_URL_DYNAMODB: dynamoProxyUrl },
  });
  apiUrl = app.apiUrl;
  dynamoTarget = app.stack.dynamo.endpoint;
  const sandbox = app.stack.sandbox;
  const sfn = app.stack.workflow.stepFunctions;
  const queue = app.stack.refresh.queueName;
  try {
    if (!sandbox)
      throw new Error("The refresh cost needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)");
    const api = createConnectClient(app.apiUrl, await app.issueToken("cost-user"));
    const fields = await api.credentialFields("mxbank");

    // Each Task state is a Lambda invocation: its time is from its entry to its exit (Map items overlap).
    const seen = new Set<string>();
    const workflowRun = async (memberGuid: string) => {
      const fresh = sfn
        .listExecutions({ stateMachineArn: app.stack.workflow.stateMachineArn })
        .executions.filter((e) => !seen.has(e.executionArn));
      const [execution] = fresh;
      if (!execution || fresh.length > 1)
        throw new Error(`Expected one new sync execution for ${memberGuid}, got ${fresh.length}`);
      seen.add(execution.executionArn);
      const result = await sfn.waitForExecution(execution.executionArn);
      if (result.status !== "SUCCEEDED") throw new Error(`The sync ended ${result.status}`);
      const entered = new Map<string, number[]>();
      let transitions = 0;
      let taskMs = 0;
      let tasks = 0;
      for (const event of sfn.history(execution.executionArn)) {
        if (!("state" in event)) continue;
        const key = `${event.state.name}#${event.index ?? ""}`;
        if (event.type === "StateEntered") {
          transitions += 1;
          if (event.state.type === "Task") entered.set(key, [...(entered.get(key) ?? []), event.timestamp]);
        }
        if (event.type === "StateExited" && event.state.type === "Task") {
          const start = entered.get(key)?.shift();
          if (start !== undefined) {
            tasks += 1;
            taskMs += event.timestamp - start;
          }
        }
      }
      return { transitions, tasks, taskMs };
    };
    let memberGuid = "";

    /** Counts what `act` and everything it sets off (workflow runs, webhooks, queue) cost. */
    const measure = async (act: () => Promise<Partial<Counted>>): Promise<CaseCost> => {
      const sqs0 = app.stack.aws.sqs.usage(queue);
      const mx0 = sandbox.stats().requests;
      const dynamo0 = { ...dynamo };
      const webhooks0 = { ...webhooks };
      const own = await act();
      await sandbox.flushWebhooks();
      await app.stack.refresh.drain();
      const sqs1 = app.stack.aws.sqs.usage(queue);
      const webhookInvocations = webhooks.invocations - webhooks0.invocations;
      return costOf(
        {
          mxCalls: sandbox.stats().requests - mx0,
          rowsWritten: dynamo.rows - dynamo0.rows,
          apiRequests: (own.apiRequests ?? 0) + webhookInvocations,
          lambdaInvocations:
            (own.lambdaInvocations ?? 0) + webhookInvocations + sqs1.invocations - sqs0.invocations,
          handlerMs: (own.handlerMs ?? 0) + webhooks.ms - webhooks0.ms + sqs1.handlerMs - sqs0.handlerMs,
          stateTransitions: own.stateTransitions ?? 0,
          sqsRequests: sqs1.requests - sqs0.requests,
          readUnits: dynamo.read - dynamo0.read,
          writeUnits: dynamo.write - dynamo0.write,
        },
        mxLatencyMs,
      );
    };

    // The first sync: POST /v1/members (one API Lambda), then the workflow to its end.
    const firstSync = await measure(async () => {
      const started = performance.now();
      const member = await api.createMember({
        institution_code: "mxbank",
        credentials: fields.map((f) => ({
          guid: f.guid,
          value: f.field_name === "LOGIN" ? TEST_USERNAME : "password",
        })),
      });
      const createMs = performance.now() - started;
      const workflow = await workflowRun(member.guid);
      memberGuid = member.guid;
      return {
        apiRequests: 1,
        lambdaInvocations: 1 + workflow.tasks,
        handlerMs: createMs + workflow.taskMs,
        stateTransitions: workflow.transitions,
      };
    });
    // The app's first pull of the feed: every stored row; its cursor is where the day's changes start.
    let transactionsStored = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await api.transactionChanges({ ...(cursor ? { cursor } : {}), count: FEED_PAGE });
      transactionsStored += page.added.length;
      cursor = page.next_cursor;
      if (!page.has_more) break;
    }
    // A day later MX aggregates by itself and sends member_data_updated (webhook → queue → consumer).
    const dayOfNewData = await measure(async () => {
      await sandbox.advanceTime(DAY_MS + 60_000);
      return {};
    });
    // The app catches up on the day's changes: GET /v1/transactions/sync from its cursor, to the end.
    let changesRead = 0;
    const feedRead = await measure(async () => {
      let calls = 0;
      const started = performance.now();
      for (;;) {
        const page = await api.transactionChanges({ cursor, count: FEED_PAGE });
        calls += 1;
        changesRead += page.added.length + page.modified.length + page.removed.length;
        cursor = page.next_cursor;
        if (!page.has_more) break;
      }
      return { apiRequests: calls, lambdaInvocations: calls, handlerMs: performance.now() - started };
    });
    // Nothing new since: the sweep (one Lambda) enqueues the member; the consumer makes one status call.
    const nothingNew = await measure(async () => {
      const started = performance.now();
      await app.stack.refresh.sweep();
      return { lambdaInvocations: 1, handlerMs: performance.now() - started };
    });
    // A user asks for fresh data past MX's 3-hour rule: POST …/sync, the workflow to its end.
    await sandbox.advanceTime(3 * HOUR_MS + 60_000);
    const foregroundRefresh = await measure(async () => {
      const started = performance.now();
      await api.post(`/v1/members/${memberGuid}/sync`);
      const askMs = performance.now() - started;
      const workflow = await workflowRun(memberGuid);
      return {
        apiRequests: 1,
        lambdaInvocations: 1 + workflow.tasks,
        handlerMs: askMs + workflow.taskMs,
        stateTransitions: workflow.transitions,
      };
    });
    const floors = {
      firstSync: floorOf(firstSync, mxLatencyMs),
      dayOfNewData: floorOf(dayOfNewData, mxLatencyMs),
      nothingNew: floorOf(nothingNew, mxLatencyMs),
      foregroundRefresh: floorOf(foregroundRefresh, mxLatencyMs),
      feedRead: floorOf(feedRead, mxLatencyMs, changesRead),
    };
    return {
      mxLatencyMs,
      lambdaMemoryMb: LAMBDA_MEMORY_MB,
      accounts: COST_MEMBER.accounts,
      transactionsPerAccount: COST_MEMBER.transactionsPerAccount,
      transactionsStored,
      firstSync,
      dayOfNewData,
      nothingNew,
      foregroundRefresh,
      feedRead: { ...feedRead, changesRead },
      floors,
    };
  } finally {
    await app.close();
    dynamoProxy.close();
    webhookProxy.close();
  }
}

/** The Markdown table README.md quotes. */
export function markdownTable(result: RefreshCostResult): string {
  const line = (name: string, c: CaseCost) =>
    `| ${name} | ${c.mxCalls} | ${c.rowsWritten} | ${c.lambdaInvocations} | ${c.billedLambdaMs} | ${c.stateTransitions} | ${c.sqsRequests} | ${c.readUnits} / ${c.writeUnits} | ${c.apiRequests} | $${c.costUsd.toFixed(7)} |`;
  return [
    `Member: ${result.accounts} accounts, ${result.transactionsStored} transactions stored. MX latency assumed: ${result.mxLatencyMs} ms a call; Lambda ${result.lambdaMemoryMb} MB arm64.`,
    "",
    "| case | MX calls | rows written | Lambda invocations | billed Lambda ms | SFN transitions | SQS requests | DynamoDB RRU / WRU | API GW | cost |",
    "|---|---|---|---|---|---|---|---|---|---|",
    line("first sync (create)", result.firstSync),
    line("a day of new data (webhook)", result.dayOfNewData),
    line("nothing new (sweep)", result.nothingNew),
    line("foreground refresh (POST …/sync)", result.foregroundRefresh),
    line(`feed read (${result.feedRead.changesRead} changes)`, result.feedRead),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { "mx-latency-ms": { type: "string" } } });
  const mxLatencyMs = z.coerce.number().int().min(0).max(5_000).default(250).parse(values["mx-latency-ms"]);
  const result = await measureRefreshCost(mxLatencyMs);
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(markdownTable(result));
}

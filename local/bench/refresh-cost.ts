// The AWS cost of one background refresh, counted on the embedded stack over real HTTP (`startAll`): the
// sandbox aggregates in the background and POSTs its webhook; the webhook Lambda enqueues; the consumer
// reads. Counted: API Gateway requests, Lambda invocations and handler time (at the configured memory, plus
// MX's latency per call, which the Lambda waits for), SQS requests (local SQS), DynamoDB read/write units
// (a proxy in front of dynalite asks each call for ConsumedCapacity; index writes added per row written).
// `npx tsx local/bench/refresh-cost.ts [--mx-latency-ms 250]` prints a Markdown table.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { createConnectClient } from "../client";
import { TEST_USERNAME } from "../sandbox/index";
import { startAll } from "../start";
import { LAMBDA_MEMORY_MB, PRICES } from "./prices";

const DAY_MS = 86_400_000;
const mxLatencyMs = Number(process.argv[process.argv.indexOf("--mx-latency-ms") + 1]) || 250;

/** DynamoDB units through the proxy: what dynalite reports, plus the index writes it does not count. */
const dynamo = { read: 0, write: 0, calls: 0 };
let target = "";
const proxy = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    let body = Buffer.concat(chunks).toString("utf8");
    const parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    if (operation !== "DescribeTable" && operation !== "CreateTable") {
      parsed.ReturnConsumedCapacity = "TOTAL";
      body = JSON.stringify(parsed);
      dynamo.calls += 1;
      dynamo.write += indexWrites(operation, parsed);
    }
    const url = new URL(target);
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
          try {
            const json = JSON.parse(text) as { ConsumedCapacity?: unknown };
            const consumed = [json.ConsumedCapacity ?? []].flat() as { CapacityUnits?: number }[];
            const units = consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
            if (/^(Get|BatchGet|Query|Scan)/.test(operation)) dynamo.read += units;
            else dynamo.write += units;
          } catch {}
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(text);
        });
      },
    );
    forward.end(body);
  });
});

/** Each transaction row also writes the date LSI, and a pending one the pending GSI (1 KB units). */
function indexWrites(operation: string, body: Record<string, unknown>): number {
  if (operation !== "BatchWriteItem") return 0;
  const tables = Object.values(
    (body.RequestItems ?? {}) as Record<string, { PutRequest?: { Item?: Record<string, unknown> } }[]>,
  );
  let units = 0;
  for (const request of tables.flat()) {
    const item = request.PutRequest?.Item;
    if (!item) continue;
    const kb = Math.ceil(JSON.stringify(item).length / 1024);
    if ("dateKey" in item) units += kb;
    if ("pendingOf" in item) units += kb;
  }
  return units;
}

async function main() {
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  process.env.LOG_LEVEL = "SILENT";
  const app = await startAll({
    jwtKeyFile: null,
    log: () => {},
    stack: { sandbox: { aggregationMs: 30 }, waitScale: 0.002, env: { AWS_ENDPOINT_URL_DYNAMODB: proxyUrl } },
  });
  target = app.stack.dynamo.endpoint;
  const sandbox = app.stack.sandbox;
  if (!sandbox) throw new Error("needs the sandbox");
  try {
    const api = createConnectClient(app.apiUrl, await app.issueToken("cost-user"));
    const fields = await api.credentialFields("mxbank");
    const member = await api.createMember({
      institution_code: "mxbank",
      credentials: fields.map((f) => ({
        guid: f.guid,
        value: f.field_name === "LOGIN" ? TEST_USERNAME : "password",
      })),
    });
    await api.waitForMember(member.guid);
    await app.stack.refresh.drain();

    const queue = app.stack.refresh.queueName;
    const measure = async (act: () => Promise<unknown>) => {
      const sqs0 = app.stack.aws.sqs.usage(queue);
      const mx0 = sandbox.stats().requests;
      const d0 = { ...dynamo };
      const started = performance.now();
      await act();
      await app.stack.refresh.drain();
      const sqs1 = app.stack.aws.sqs.usage(queue);
      return {
        wallMs: performance.now() - started,
        mxCalls: sandbox.stats().requests - mx0,
        sqsRequests: sqs1.requests - sqs0.requests,
        consumerInvocations: sqs1.invocations - sqs0.invocations,
        consumerMs: sqs1.handlerMs - sqs0.handlerMs,
        read: dynamo.read - d0.read,
        write: dynamo.write - d0.write,
        dynamoCalls: dynamo.calls - d0.calls,
      };
    };
    // A day of new data, through MX's webhook (API Gateway + webhook Lambda + queue + consumer).
    const webhookStarted = performance.now();
    const day = await measure(() => sandbox.advanceTime(DAY_MS + 60_000));
    const webhookMs = Math.min(50, performance.now() - webhookStarted); // the webhook Lambda: auth + one SendMessage
    // Nothing new, found by the sweep (sweep Lambda + queue + consumer: one status call).
    const sweepStarted = performance.now();
    const nothing = await measure(() => app.stack.refresh.sweep());
    const sweepMs = performance.now() - sweepStarted - nothing.consumerMs;

    const gbs = (ms: number) => (Math.ceil(ms) / 1000) * (LAMBDA_MEMORY_MB / 1024);
    const rows = [
      {
        name: "a day of new data (webhook)",
        http: 1,
        invocations: 1 + day.consumerInvocations,
        billedMs: webhookMs + day.consumerMs + day.mxCalls * mxLatencyMs,
        m: day,
      },
      {
        name: "nothing new (sweep)",
        http: 0,
        invocations: 1 + nothing.consumerInvocations,
        billedMs: Math.max(0, sweepMs) + nothing.consumerMs + nothing.mxCalls * mxLatencyMs,
        m: nothing,
      },
    ];
    console.log(`MX latency assumed: ${mxLatencyMs} ms a call; Lambda ${LAMBDA_MEMORY_MB} MB arm64.\n`);
    console.log(
      "| refresh | MX calls | Lambda invocations | billed Lambda ms | SQS requests | DynamoDB RRU / WRU | API GW | cost |",
    );
    console.log("|---|---|---|---|---|---|---|---|");
    for (const row of rows) {
      const cost =
        row.http * PRICES.httpApiRequest +
        row.invocations * PRICES.lambdaRequest +
        gbs(row.billedMs) * PRICES.lambdaGbSecond +
        row.m.sqsRequests * PRICES.sqsRequest +
        row.m.read * PRICES.dynamoRead +
        row.m.write * PRICES.dynamoWrite;
      console.log(
        `| ${row.name} | ${row.m.mxCalls} | ${row.invocations} | ${Math.ceil(row.billedMs)} | ${row.m.sqsRequests} | ${row.m.read} / ${row.m.write} | ${row.http} | $${cost.toFixed(7)} |`,
      );
    }
    console.log(
      `\nFor comparison: a Standard workflow run per refresh at ~35 transitions = $${(35 * PRICES.sfnTransition).toFixed(5)} in transitions alone.`,
    );
  } finally {
    await app.close();
    proxy.close();
  }
}

await main();

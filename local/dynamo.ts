// Local DynamoDB: dynalite in memory on a loopback ephemeral port, with the project's table created, and,
// for fault tests, a throttling proxy in front of it that the handlers reach instead (their own SDK clients,
// unchanged: only AWS_ENDPOINT_URL_DYNAMODB differs).
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { createTableInput } from "../shared/storage/table";
import { hash32, mulberry32 } from "./sandbox/prng";
import { sentByCrashedInvocation } from "./workflow/lambda";

/**
 * DynamoDB throttling, as the service answers it, decided per request from a seeded stream. Nothing throttled
 * is applied: a throttled request changed nothing, and unprocessed items were not written.
 */
export interface DynamoFaults {
  seed: number;
  /** Fraction (0..1) of requests answered 400 ProvisionedThroughputExceededException. */
  throttleRate: number;
  /** Fraction (0..1) of BatchWriteItem calls that write only the first half and return the rest unprocessed. */
  unprocessedRate: number;
  /**
   * Fraction (0..1) of batches (told apart by their first item) throttled for `sustainedCalls` calls in a row,
   * every item returned unprocessed: longer than the batch writer's own attempts, so its BatchWriteError
   * reaches the state machine. A batch is picked at most once.
   */
  sustainedRate: number;
  sustainedCalls: number;
}

/** What the proxy injected so far. */
export interface DynamoFaultCounts {
  throttled: number;
  partialBatches: number;
  sustainedBatchCalls: number;
}

export interface LocalDynamo {
  /**
   * http://127.0.0.1:<port>: set it as AWS_ENDPOINT_URL_DYNAMODB for code that builds its own client (the
   * handlers). With `faults`, the throttling proxy's address.
   */
  endpoint: string;
  tableName: string;
  /** A client straight to dynalite, never throttled (for setting up and checking a test's data). */
  client: DynamoDBClient;
  /** What the throttling proxy injected (zeros without `faults`). */
  faultCounts(): DynamoFaultCounts;
  close(): Promise<void>;
}

/** Fake credentials and region: dynalite checks neither, the SDK wants both. */
export const LOCAL_AWS = { region: "us-east-1", accessKeyId: "local", secretAccessKey: "local" } as const;

function listen(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  // The SDK keeps sockets alive: drop them so close() does not wait for their idle timeout.
  server.closeAllConnections();
  return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

export async function startDynamo(
  options: { tableName?: string; faults?: DynamoFaults } = {},
): Promise<LocalDynamo> {
  const tableName = options.tableName ?? "mx-connect-local";
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server);
  const direct = `http://127.0.0.1:${port}`;
  const counts: DynamoFaultCounts = { throttled: 0, partialBatches: 0, sustainedBatchCalls: 0 };
  const proxy = options.faults ? throttlingProxy(port, options.faults, counts) : undefined;
  const endpoint = proxy ? `http://127.0.0.1:${await listen(proxy)}` : direct;
  const client = new DynamoDBClient({
    endpoint: direct,
    region: LOCAL_AWS.region,
    credentials: { accessKeyId: LOCAL_AWS.accessKeyId, secretAccessKey: LOCAL_AWS.secretAccessKey },
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.destroy();
    if (proxy) await closeServer(proxy);
    await closeServer(server);
  };

  try {
    await createTable(client, tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, tableName, client, faultCounts: () => ({ ...counts }), close };
}

const readAll = (stream: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });

type RequestItems = Record<string, unknown[]>;

/** The proxy: forwards to dynalite on `port`, answering some requests as a throttled table would. */
function throttlingProxy(port: number, faults: DynamoFaults, counts: DynamoFaultCounts): Server {
  const random = mulberry32(hash32(faults.seed, "dynamo-faults"));
  const sustained = new Map<string, number>(); // batch → throttled calls left
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
      const headers = { ...req.headers, "content-length": String(body.length), host: `127.0.0.1:${port}` };
      const out = httpRequest(
        { host: "127.0.0.1", port, method: req.method, path: req.url, headers },
        (res) => {
          readAll(res).then((answer) => {
            const kept: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === "string") kept[name] = value;
            }
            resolve({ status: res.statusCode ?? 500, headers: kept, body: answer });
          }, reject);
        },
      );
      out.on("error", reject);
      out.end(body);
    });
  const json = (status: number, value: unknown) => {
    const body = Buffer.from(JSON.stringify(value));
    // No x-amz-crc32: the SDK checks it only when present.
    return { status, headers: { "content-type": "application/x-amz-json-1.0" }, body };
  };

  const answer = async (req: IncomingMessage, body: Buffer) => {
    const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    if (random() < faults.throttleRate) {
      counts.throttled += 1;
      return json(400, {
        __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        message: "The level of configured provisioned throughput for the table was exceeded.",
      });
    }
    if (operation !== "BatchWriteItem") return forward(req, body);
    const input = JSON.parse(body.toString("utf8")) as { RequestItems: RequestItems };
    const batch = JSON.stringify(Object.values(input.RequestItems)[0]?.[0] ?? null);
    let left = sustained.get(batch);
    if (left === undefined && random() < faults.sustainedRate) left = faults.sustainedCalls;
    if (left !== undefined) sustained.set(batch, Math.max(0, left - 1));
    if (left !== undefined && left > 0) {
      counts.sustainedBatchCalls += 1;
      return json(200, { UnprocessedItems: input.RequestItems });
    }
    if (random() >= faults.unprocessedRate) return forward(req, body);
    // Write the first half of each table's items; hand the rest back unprocessed.
    const written: RequestItems = {};
    const unprocessed: RequestItems = {};
    for (const [table, items] of Object.entries(input.RequestItems)) {
      const half = Math.ceil(items.length / 2);
      written[table] = items.slice(0, half);
      if (items.length > half) unprocessed[table] = items.slice(half);
    }
    const result = await forward(req, Buffer.from(JSON.stringify({ ...input, RequestItems: written })));
    if (result.status !== 200) return result;
    counts.partialBatches += 1;
    const output = JSON.parse(result.body.toString("utf8")) as { UnprocessedItems?: RequestItems };
    for (const [table, items] of Object.entries(output.UnprocessedItems ?? {})) {
      unprocessed[table] = [...items, ...(unprocessed[table] ?? [])];
    }
    return json(200, { ...output, UnprocessedItems: unprocessed });
  };

  return createServer((req, res) => {
    // A request a crashed Lambda sent (local/workflow/lambda.ts): its process is gone, the write never lands.
    if (sentByCrashedInvocation(req.socket.remotePort)) {
      req.socket.destroy();
      return;
    }
    readAll(req)
      .then((body) => answer(req, body))
      .then(
        (result) => res.writeHead(result.status, result.headers).end(result.body),
        () => res.writeHead(500).end(),
      );
  });
}

/**
 * Creates the project's table (createTableInput) and waits until it is ACTIVE. Polls every 10 ms: the SDK
 * waiter's 1 s floor would cost a second per table here, and tests make a table each.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

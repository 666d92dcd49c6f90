// BatchWriteItem behaviour DynamoDB shows under throttling but dynalite never does (UnprocessedItems),
// with the SDK mocked by aws-sdk-client-mock.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { BATCH_WRITE_LIMIT, BatchWriteError, batchWrite, type WriteRequest } from "../shared/storage/batch";

const TABLE = "t";
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const mock = mockClient(doc);
afterEach(() => mock.reset());

const puts = (count: number): WriteRequest[] =>
  Array.from({ length: count }, (_, i) => ({ PutRequest: { Item: { pk: `P#${i}`, sk: "S" } } }));
const requestsOf = (input: BatchWriteCommandInput) => (input.RequestItems?.[TABLE] ?? []) as WriteRequest[];
const sent = () => mock.commandCalls(BatchWriteCommand).map((call) => requestsOf(call.args[0].input));

describe("batchWrite", () => {
  it("retries unprocessed items with growing, capped, jittered waits until all are written", async () => {
    // Prepare: the first two calls leave the last 5 items unprocessed.
    let calls = 0;
    mock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
      calls++;
      const requests = requestsOf(input);
      return { UnprocessedItems: calls <= 2 ? { [TABLE]: requests.slice(-5) } : {} };
    });
    const waits: number[] = [];

    // Act
    const written = await batchWrite(doc, TABLE, puts(20), {
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.999,
      baseDelayMs: 100,
      maxDelayMs: 150,
    });

    // Assess
    expect(written).toBe(20);
    expect(sent().map((requests) => requests.length)).toEqual([20, 5, 5]);
    expect(sent()[2]).toEqual(puts(20).slice(-5));
    expect(waits).toEqual([99, 149]); // 100 then 200 capped at 150, times the jitter
  });

  it("gives up after the attempt limit with a typed error naming what was left", async () => {
    // Prepare: DynamoDB never accepts the last item.
    mock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => ({
      UnprocessedItems: { [TABLE]: requestsOf(input).slice(-1) },
    }));

    // Act
    const error = await batchWrite(doc, TABLE, puts(3), { maxAttempts: 4, sleep: async () => {} }).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(BatchWriteError);
    expect(error).toMatchObject({ name: "BatchWriteError", unprocessed: 1, attempts: 4 });
    expect(sent()).toHaveLength(4);
  });

  it("sends 25 items a call with at most `concurrency` calls in flight", async () => {
    // Prepare
    let inFlight = 0;
    let maxInFlight = 0;
    mock.on(BatchWriteCommand).callsFake(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return {};
    });

    // Act
    const written = await batchWrite(doc, TABLE, puts(260), { concurrency: 3 });

    // Assess
    expect(written).toBe(260);
    const sizes = sent().map((requests) => requests.length);
    expect(sizes).toHaveLength(Math.ceil(260 / BATCH_WRITE_LIMIT));
    expect(Math.max(...sizes)).toBe(BATCH_WRITE_LIMIT);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(260);
    expect(maxInFlight).toBe(3);
  });

  it("stops taking new chunks after a failure and rethrows it", async () => {
    // Prepare
    mock.on(BatchWriteCommand).rejects(Object.assign(new Error("boom"), { name: "ValidationException" }));

    // Act
    const error = await batchWrite(doc, TABLE, puts(500), { concurrency: 2 }).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toMatchObject({ name: "ValidationException" });
    expect(sent().length).toBeLessThanOrEqual(2);
  });

  it("writes nothing and makes no call for no items", async () => {
    // Act
    const written = await batchWrite(doc, TABLE, []);

    // Assess
    expect(written).toBe(0);
    expect(sent()).toHaveLength(0);
  });
});

// What a page of a sync costs in DynamoDB calls with the changes feed's log (shared/storage/change-log.ts),
// on dynalite: a page of 1,000 transactions is written as rows, one sequence-number update, then the
// entries, and the log then tells every row exactly once, in order. Each DynamoDB call is billed and waits
// a round trip from Lambda, so the call count is what the sync's cost and speed follow.
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startDynamo } from "../local/dynamo";
import type { Transaction } from "../shared/mx/schemas";
import { createStores } from "../shared/storage/dynamo";

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(() => dynamo.close());

const page = (count: number): Transaction[] =>
  Array.from({ length: count }, (_, i) => ({
    guid: `TRN-${String(i).padStart(4, "0")}`,
    account_guid: "ACT-1",
    member_guid: "MBR-1",
    amount: -(i + 1),
    currency_code: "USD",
    date: "2026-11-30",
    description: `Purchase ${i}`,
    status: "POSTED",
    type: "DEBIT",
  }));

describe("putTransactions with the change log", () => {
  it("writes a page of 1,000 rows in 82 DynamoDB calls and logs each row once, in order", async () => {
    // Prepare: a member, and every call the store makes counted by name.
    const calls: string[] = [];
    dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "countCalls" },
    );
    const stores = createStores({
      doc: DynamoDBDocumentClient.from(dynamo.client),
      tableName: dynamo.tableName,
    });
    await stores.members.putMember({
      userId: "user-1",
      mxUserGuid: "USR-1",
      memberGuid: "MBR-1",
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
    calls.length = 0;

    // Act
    const written = await stores.bankData.putTransactions("user-1", "MBR-1", page(1_000), "run-1");
    const made = [...calls];
    const log = await stores.changes.read("user-1", 0, 1_000);

    // Assess: 40 BatchWriteItems of rows, one counter update, 40 of entries, and the member's account list.
    expect(written).toBe(1_000);
    expect(made.filter((name) => name === "BatchWriteItemCommand")).toHaveLength(80);
    expect(made.filter((name) => name === "UpdateItemCommand")).toHaveLength(2);
    expect(made).toHaveLength(82);
    expect(log.entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(new Set(log.entries.map((entry) => entry.guid)).size).toBe(1_000);
    expect(log.hasMore).toBe(false);
  });
});

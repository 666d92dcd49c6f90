// Sync outcomes on the whole embedded stack (startLocalStack): the synthesized state machine run by the
// local runner with the real handlers, the MX sandbox over HTTP, dynalite. Covers what the API-level e2e
// tests do not: options and image MFA, a member with 10,000+ transactions read under injected MX faults,
// and the same sync run twice. Members are created at MX directly; the app-facing path is in test/e2e-*.
import { randomUUID } from "node:crypto";
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORRECT_ANSWER, type Sandbox } from "../local/sandbox/index";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import { createMxClient, type MxClient } from "../shared/mx/client";
import { createStores, type Stores } from "../shared/storage/dynamo";
import { answerChallenge } from "../shared/sync/answer-challenge";
import type { SyncRequest } from "../shared/sync/contract";
import { createSfnPort } from "../shared/sync/sfn";

let stack: LocalStack;
let sandbox: Sandbox;
let mx: MxClient;
let stores: Stores;

beforeAll(async () => {
  stack = await startLocalStack({
    sandbox: { aggregationMs: 40, accountsPerMember: 2, transactionsPerAccount: 300 },
    waitScale: 0.002,
  });
  if (!stack.sandbox) throw new Error("these tests need the sandbox");
  sandbox = stack.sandbox;
  mx = createMxClient({
    baseUrl: sandbox.url,
    credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    baseDelayMs: 1,
    maxDelayMs: 5,
  });
  stores = createStores({
    doc: DynamoDBDocumentClient.from(stack.dynamo.client),
    tableName: stack.dynamo.tableName,
  });
});
afterAll(async () => {
  await stack?.close();
});

const connectMember = async (password: string) =>
  (await connectMxbankMember({ mx, members: stores.members }, password)).request;

async function sync(request: SyncRequest, name: string) {
  const { executionArn } = stack.workflow.startExecution(request, name);
  return { executionArn, result: stack.workflow.waitForExecution(executionArn) };
}

/** Every stored transaction guid of the user's accounts, read back page by page as the API serves them. */
async function storedTransactionGuids(userId: string): Promise<string[]> {
  const guids: string[] = [];
  for (const account of await stores.bankData.listAccounts(userId)) {
    let cursor: string | undefined;
    do {
      const page = await stores.bankData.listTransactions(account.guid, { limit: 500, cursor });
      guids.push(...page.items.map((transaction) => transaction.guid));
      cursor = page.cursor;
    } while (cursor);
  }
  return guids;
}

async function waitForChallenge(request: SyncRequest) {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    if (member?.challengeTaskToken && member.challenges?.length) return member.challenges;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the run never stored a challenge");
}

describe("MFA of every kind, answered while the run waits", () => {
  it.each([
    ["options", "options"],
    ["image", "image"],
  ])("%s MFA answered correctly ends SYNCED", async (_kind, password) => {
    // Prepare
    const request = await connectMember(password);
    const run = await sync(request, `mfa-${password}-${randomUUID()}`);
    const challenges = await waitForChallenge(request);

    // Act
    const answered = await answerChallenge(
      { mx, members: stores.members, sfn: createSfnPort(new SFNClient({})) },
      {
        userId: request.userId,
        memberGuid: request.memberGuid,
        answers: challenges.map((challenge) => ({ guid: challenge.guid, value: CORRECT_ANSWER })),
      },
      { challengeTimeoutSeconds: 600 },
    );
    const result = await run.result;

    // Assess
    expect(answered).toEqual({ resumed: true });
    expect(result.status).toBe("SUCCEEDED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "SYNCED", counts: { accounts: 2, transactions: 600 } });
    expect(member?.challenges ?? []).toEqual([]);
    expect(member?.challengeTaskToken).toBeUndefined();
  });
});

describe("a member with 10,000+ transactions", () => {
  let request: SyncRequest;
  let totalAtMx = 0;

  beforeAll(async () => {
    sandbox.setKnobs({ transactionsPerAccount: 5_500 });
    request = await connectMember("big-member");
    sandbox.setKnobs({ transactionsPerAccount: 300 });
  });

  it("stores every transaction across 11+ pages, once each, even with MX answering 429 and 5xx", async () => {
    // Prepare
    sandbox.setKnobs({ faults: { rate429: 0.1, rate5xx: 0.1, retryAfterSeconds: 0 } });
    const faultsBefore = sandbox.stats().byStatus;

    // Act
    const { result } = await sync(request, `big-${randomUUID()}`);
    const outcome = await result;
    sandbox.setKnobs({ faults: { rate429: 0, rate5xx: 0 } });

    // Assess
    expect(outcome.status).toBe("SUCCEEDED");
    const faultsAfter = sandbox.stats().byStatus;
    const injected = (status: number) => (faultsAfter[status] ?? 0) - (faultsBefore[status] ?? 0);
    expect(injected(429) + injected(500) + injected(503)).toBeGreaterThan(0);
    const firstPage = await mx.listTransactions(request.mxUserGuid, request.memberGuid, {
      fromDate: "2000-01-01",
      recordsPerPage: 1000,
    });
    totalAtMx = firstPage.pagination.total_entries;
    expect(totalAtMx).toBeGreaterThanOrEqual(10_000);
    expect(firstPage.pagination.total_pages).toBeGreaterThan(10);
    const guids = await storedTransactionGuids(request.userId);
    expect(guids.length).toBe(totalAtMx);
    expect(new Set(guids).size).toBe(guids.length);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "SYNCED", counts: { transactions: totalAtMx } });
  });

  it("run again, the same sync still stores each transaction once", async () => {
    // Prepare
    expect(totalAtMx).toBeGreaterThan(0);

    // Act
    const outcome = await (await sync(request, `big-again-${randomUUID()}`)).result;

    // Assess
    expect(outcome.status).toBe("SUCCEEDED");
    const guids = await storedTransactionGuids(request.userId);
    expect(guids.length).toBe(totalAtMx);
    expect(new Set(guids).size).toBe(totalAtMx);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "SYNCED", counts: { transactions: totalAtMx } });
  });
});

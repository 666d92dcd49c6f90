// The sync workflow end to end on the embedded stack (startLocalStack): the state machine `cdk synth`
// produces, run by the local runner with every Task bound to its real handler, the MX sandbox over HTTP,
// dynalite, and the SDK reaching the local Step Functions / Secrets Manager through AWS_ENDPOINT_URL_*.
// Members are created at MX directly; the app-facing path is in test/e2e-*. Waits are scaled down
// (the MFA answer window to 6 s); nothing here depends on wall-clock timing.
import { randomUUID } from "node:crypto";
import { SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORRECT_ANSWER, type Sandbox } from "../local/sandbox/index";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import type { MxClient } from "../shared/mx/client";
import type { Stores } from "../shared/storage/dynamo";
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
    taskTokenTimeoutScale: 0.01,
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  if (!stack.sandbox) throw new Error("these tests need the sandbox");
  sandbox = stack.sandbox;
  // The stack's own MX client (fast retries) and stores on its table.
  mx = stack.mx;
  stores = stack.stores;
});
afterAll(async () => {
  await stack?.close();
});

const connectMember = async (password: string, options: { identify?: boolean } = {}) =>
  (await connectMxbankMember({ mx, members: stores.members }, password, options)).request;

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
      const page = await stores.bankData.listTransactions(userId, account.guid, { limit: 500, cursor });
      guids.push(...(page?.items ?? []).map((transaction) => transaction.guid));
      cursor = page?.cursor;
    } while (cursor);
  }
  return guids;
}

/** How many transactions MX holds for the member (all of them: from long before any window). */
async function transactionsAtMx(request: SyncRequest): Promise<number> {
  const page = await mx.listTransactions(request.mxUserGuid, request.memberGuid, {
    fromDate: "2000-01-01",
    recordsPerPage: 10,
  });
  return page.pagination.total_entries;
}

async function waitForChallenge(request: SyncRequest) {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    if (member?.challengeTaskToken && member.challenges?.length) return member.challenges;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the run never stored a challenge");
}

describe("a connection's outcome", () => {
  it("connects, identifies, fans out and records SYNCED with counts equal to what is stored", async () => {
    // Prepare
    const request = await connectMember("good-password", { identify: true });

    // Act
    const result = await (await sync(request, `synced-${randomUUID()}`)).result;

    // Assess
    expect(result.status).toBe("SUCCEEDED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    const atMx = await transactionsAtMx(request);
    expect(member?.sync).toMatchObject({
      status: "SYNCED",
      outcome: "SYNCED",
      counts: { accounts: 2, transactions: atMx },
      lastSyncedAt: expect.any(String),
    });
    expect(member?.sync.syncRun).toBeUndefined(); // the lease is released
    expect(member?.sync.counts?.owners).toBe(
      (await stores.bankData.listAccountOwners(request.userId, request.memberGuid)).length,
    );
    expect(member?.sync.counts?.owners).toBeGreaterThan(0);
    expect(atMx).toBeGreaterThan(0);
    expect(await storedTransactionGuids(request.userId)).toHaveLength(atMx);
  });

  it.each([
    ["LOCKED", "NEEDS_USER", "The bank has locked this account. The user must unlock it at the bank."],
    ["INVALID", "NEEDS_USER", "The bank rejected the credentials. Ask the user to check them and try again."],
    ["SERVER_ERROR", "FAILED", "The connection failed at the bank. Try again later."],
  ])("ends a %s member as %s with its reason, storing nothing", async (password, outcome, reason) => {
    // Prepare
    const request = await connectMember(password);

    // Act
    const result = await (await sync(request, `end-${password}-${randomUUID()}`)).result;

    // Assess
    expect(result.status).toBe("SUCCEEDED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: outcome, outcome, reason });
    expect(await stores.bankData.listAccounts(request.userId)).toEqual([]);
  });
});

describe("MFA of every kind, answered while the run waits", () => {
  it.each([
    ["text", "challenge"],
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
    const atMx = await transactionsAtMx(request);
    expect(atMx).toBeGreaterThan(0);
    expect(member?.sync).toMatchObject({ status: "SYNCED", counts: { accounts: 2, transactions: atMx } });
    expect(await storedTransactionGuids(request.userId)).toHaveLength(atMx);
    expect(member?.challenges ?? []).toEqual([]);
    expect(member?.challengeTaskToken).toBeUndefined();
  });
});

describe("a member with 10,000+ transactions", () => {
  let request: SyncRequest;
  let totalAtMx = 0;

  beforeAll(async () => {
    // MX holds about 90 days: 2 accounts × 25,000 a year is about 12,000 in that span.
    sandbox.setKnobs({ transactionsPerAccount: 25_000 });
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
    // MX changed nothing since the first run: the re-run rewrote (and counted) only the pending rows it
    // re-stamps (a handful), not the 10,000+ posted ones
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync?.status).toBe("SYNCED");
    expect(member?.sync?.counts?.transactions).toBeLessThan(totalAtMx / 100);
  });
});

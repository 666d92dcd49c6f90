// The sync workflow's fan-out (owners, accounts, transaction pages), Finish and the
// API's start, on the embedded stack (local/stack.ts): the MX sandbox over HTTP, the real MX client,
// dynalite, and the local Step Functions endpoint (reached by the real SDK) running the synthesized state
// machine for every run these use cases start.
import { SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack, type TableStores } from "../local/stack";
import { collectAll } from "../shared/mx/pages";
import { beginSync } from "../shared/sync/begin-sync";
import type { BeginSyncOutput, SyncRequest } from "../shared/sync/contract";
import { finishSync } from "../shared/sync/finish-sync";
import { identifyMember } from "../shared/sync/identify-member";
import { pollMember } from "../shared/sync/poll-member";
import { createSfnPort, type SfnPort } from "../shared/sync/sfn";
import { startSync } from "../shared/sync/start-sync";
import { storeAccounts } from "../shared/sync/store-accounts";
import { storeOwners } from "../shared/sync/store-owners";
import { storeTransactionsPage } from "../shared/sync/store-transactions-page";

let stack: LocalStack;
/** A fresh table per test: the use cases called directly see only their own rows. */
let stores: TableStores;
let sfnClient: SFNClient;
let sfn: SfnPort;

const BEGIN = { leaseSeconds: 3600, initialHistoryDays: 730, refreshWindowDays: 14 };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await startLocalStack({
    // 3 accounts × 1,200 transactions: four pages at MX's largest page size (1,000), at an institution
    // whose standard aggregation holds a year (MX: about 90 days, varying by institution).
    sandbox: {
      aggregationMs: 40,
      accountsPerMember: 3,
      transactionsPerAccount: 1200,
      pendingPerAccount: 3,
      historyDays: 365,
    },
    waitScale: 0.002,
    env: { LOG_LEVEL: "SILENT" },
    // Fast MX retries: the tests exercise outcomes, not backoff timing.
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  // The SDK finds the local endpoint through AWS_ENDPOINT_URL_SFN, which the stack set.
  sfnClient = new SFNClient({});
  sfn = createSfnPort(sfnClient, stack.workflow.stateMachineArn);
});
afterAll(async () => {
  sfnClient?.destroy();
  await stack?.close();
});
beforeEach(async () => {
  stores = await stack.freshStores();
});

/** An MX user + mxbank member whose password picks the outcome, stored as our member in `on`. */
const connect = (password: string, options: { identify?: boolean } = {}, on: TableStores = stores) =>
  connectMxbankMember({ mx: stack.mx, members: on.members }, password, options);

/** The sync state machine's executions of these names, as Step Functions lists and describes them. */
function executionsNamed(names: readonly string[]) {
  const sfnLocal = stack.workflow.stepFunctions;
  return sfnLocal
    .listExecutions({ stateMachineArn: stack.workflow.stateMachineArn, maxResults: 1000 })
    .executions.filter((execution) => names.includes(execution.name))
    .map((execution) => sfnLocal.describeExecution({ executionArn: execution.executionArn }));
}

/** Begin + poll until MX has the data, as the state machine does before its fan-out. */
async function connected(request: SyncRequest, syncRun: string): Promise<BeginSyncOutput> {
  const begun = await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun }, BEGIN);
  await pollUntilConnected(request, syncRun, Date.now(), begun.baseline);
  return begun;
}

async function pollUntilConnected(
  request: SyncRequest,
  syncRun: string,
  phaseStartedAt: number,
  baseline: string | null = null,
): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const poll = await pollMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun, phaseStartedAt, baseline },
      { phaseLimitSeconds: 900, maxWaitSeconds: 60 },
    );
    if (poll.phase === "CONNECTED") return;
    await sleep(10);
  }
  throw new Error("the member never connected");
}

/** The transaction pages as the state machine runs them: page 1, then 2..totalPages in parallel. */
async function storeAllPages(request: SyncRequest, syncRun: string, window: BeginSyncOutput["window"]) {
  const deps = { mx: stack.mx, bankData: stores.bankData, members: stores.members };
  const first = await storeTransactionsPage(deps, { request, syncRun, page: 1, window });
  const rest = await Promise.all(
    Array.from({ length: Math.max(0, first.totalPages - 1) }, (_, index) =>
      storeTransactionsPage(deps, { request, syncRun, page: index + 2, window }),
    ),
  );
  return { first, pages: [first, ...rest].map((page) => page.stored) };
}

/** Every transaction guid stored for the member's accounts. */
async function storedTransactionGuids(userId: string): Promise<string[]> {
  const accounts = await stores.bankData.listAccounts(userId);
  const guids: string[] = [];
  for (const account of accounts) {
    let cursor: string | undefined;
    do {
      const page = await stores.bankData.listTransactions(userId, account.guid, { limit: 500, cursor });
      guids.push(...(page?.items ?? []).map((item) => item.guid));
      cursor = page?.cursor;
    } while (cursor);
  }
  return guids;
}

/** Every transaction guid MX reports for the member in the window. */
async function mxTransactionGuids(
  request: SyncRequest,
  window: BeginSyncOutput["window"],
): Promise<string[]> {
  const all = await collectAll((page) =>
    stack.mx.listTransactions(request.mxUserGuid, request.memberGuid, {
      page,
      fromDate: window.from,
      toDate: window.to,
    }),
  );
  return all.map((transaction) => transaction.guid);
}

describe("fan-out", () => {
  it("stores every owner, account and transaction page once; page counts add up to MX's total_entries", async () => {
    // Prepare
    const { request } = await connect("good-password", { identify: true });
    const { window } = await connected(request, "run-1");
    // Owners come with identity data (MX's identify).
    const { phaseStartedAt, baseline } = await identifyMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun: "run-1" },
    );
    await pollUntilConnected(request, "run-1", phaseStartedAt, baseline);
    const deps = { mx: stack.mx, bankData: stores.bankData, members: stores.members };

    // Act
    const owners = await storeOwners(deps, { request, syncRun: "run-1" });
    const accounts = await storeAccounts(deps, { request, syncRun: "run-1" });
    const { first, pages } = await storeAllPages(request, "run-1", window);
    // A retried page (Lambda retry, Map item re-run) must not duplicate anything.
    await storeTransactionsPage(deps, { request, syncRun: "run-1", page: 2, window });

    // Assess
    expect(accounts.stored).toBe(3);
    expect(owners.stored).toBeGreaterThan(0);
    expect(first.totalPages).toBe(4);
    expect(first.totalEntries).toBe(3600);
    expect(pages.reduce((sum, stored) => sum + stored, 0)).toBe(first.totalEntries);
    const stored = await storedTransactionGuids(request.userId);
    expect(stored).toHaveLength(first.totalEntries);
    expect(new Set(stored).size).toBe(first.totalEntries);
    expect((await stores.bankData.listAccountOwners(request.userId, request.memberGuid)).length).toBe(
      owners.stored,
    );
  });
});

describe("finishSync", () => {
  it("records SYNCED with counts, duration and last sync time, and releases the lease", async () => {
    // Prepare
    const { request } = await connect("good-password");
    const startedAt = Date.parse("2026-03-10T08:00:00Z");
    await beginSync(
      { mx: stack.mx, members: stores.members, clock: () => new Date(startedAt) },
      { request, syncRun: "run-1" },
      BEGIN,
    );
    const finishedAt = new Date(startedAt + 42_000);

    // Act
    const result = await finishSync(
      { members: stores.members, bankData: stores.bankData, clock: () => finishedAt },
      {
        request,
        syncRun: "run-1",
        outcome: "SYNCED",
        connectionStatus: "CONNECTED",
        startedAt,
        counts: { owners: 2, accounts: 3, transactionPages: [1000, 1000, 1000, 600] },
      },
    );
    const next = await stores.members.acquireSyncLease(request.userId, request.memberGuid, "run-2", 60_000);

    // Assess
    expect(result).toEqual({ outcome: "SYNCED", recorded: true });
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({
      status: "SYNCED",
      outcome: "SYNCED",
      counts: { owners: 2, accounts: 3, transactions: 3600 },
      durationMs: 42_000,
      finishedAt: finishedAt.toISOString(),
      lastSyncedAt: finishedAt.toISOString(),
    });
    expect(member?.sync.reason).toBeUndefined();
    expect(next).toBe(true);
  });

  it.each([
    ["NEEDS_USER", "LOCKED", "The bank has locked this account. The user must unlock it at the bank."],
    ["TIMED_OUT", "CHALLENGED", "The security question was not answered in time."],
    ["NEEDS_USER", "CHALLENGED", "The bank kept asking security questions. Ask the user to connect again."],
    ["FAILED", "MEMBER_NOT_FOUND", "This connection no longer exists at MX. Connect the bank again."],
  ] as const)("records %s (%s) with a human reason", async (outcome, connectionStatus, reason) => {
    // Prepare
    const { request } = await connect("good-password");
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);

    // Act
    await finishSync(
      { members: stores.members, bankData: stores.bankData },
      { request, syncRun: "run-1", outcome, connectionStatus },
    );

    // Assess
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: outcome, outcome, reason });
    expect(member?.sync.lastSyncedAt).toBeUndefined();
  });

  it("stores a caught error's name and a trimmed message with secrets and the stack scrubbed", async () => {
    // Prepare
    const { request } = await connect("good-password");
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    const token = "AQB8AAAAKgAAAAMAAAAAAAAAAWhhOFlS0X2nTfSBRKw9pQzSZ8o1ZxAbCdEfGhIjKlMnOpQrStUv";
    const cause = JSON.stringify({
      errorType: "MxUnavailableError",
      errorMessage: `MX GET /users/USR-1/members/MBR-1/status?api_key=abc123 answered 503 Basic c2VjcmV0OnNlY3JldA== token=${token}`,
      trace: ["MxUnavailableError: at transport (/var/task/index.mjs:1:1)"],
    });

    // Act
    await finishSync(
      { members: stores.members, bankData: stores.bankData },
      { request, syncRun: "run-1", outcome: "FAILED", error: { Error: "MxUnavailableError", Cause: cause } },
    );

    // Assess
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({
      status: "FAILED",
      reason: "MX was unavailable. Try again later.",
      error: {
        name: "MxUnavailableError",
        message: expect.stringContaining("/members/MBR-1/status answered 503"),
      },
    });
    const stored = JSON.stringify(member);
    for (const secret of ["abc123", "c2VjcmV0OnNlY3JldA==", token, "/var/task"])
      expect(stored).not.toContain(secret);
  });

  it("writes nothing for a run that no longer holds the member", async () => {
    // Prepare
    const { request } = await connect("good-password");
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);

    // Act
    const result = await finishSync(
      { members: stores.members, bankData: stores.bankData },
      { request, syncRun: "stale-run", outcome: "FAILED", connectionStatus: "FAILED" },
    );

    // Assess
    expect(result.recorded).toBe(false);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "CONNECTING", syncRun: "run-1" });
  });

  it("after a refresh, drops the pending transactions MX replaced, so the store matches MX", async () => {
    // Prepare: a full first sync, then MX posts the pending transactions under new guids on a refresh.
    const { request } = await connect("good-password");
    const initial = await connected(request, "run-1");
    const firstPages = await storeAllPages(request, "run-1", initial.window);
    await finishSync(
      { members: stores.members, bankData: stores.bankData },
      {
        request,
        syncRun: "run-1",
        outcome: "SYNCED",
        counts: { owners: 0, accounts: 3, transactionPages: firstPages.pages },
        window: initial.window,
      },
    );
    await storeAccounts({ mx: stack.mx, bankData: stores.bankData }, { request, syncRun: "run-1" });
    // MX aggregates again only 3 hours after a successful aggregation.
    await stack.sandbox?.advanceTime(3 * 3_600_000 + 60_000);
    const refresh: SyncRequest = { ...request, mode: "refresh" };
    const begun = await connected(refresh, "run-2");
    const refreshPages = await storeAllPages(refresh, "run-2", begun.window);
    const beforeFinish = await storedTransactionGuids(request.userId);

    // Act
    await finishSync(
      { members: stores.members, bankData: stores.bankData },
      {
        request: refresh,
        syncRun: "run-2",
        outcome: "SYNCED",
        counts: { owners: 0, accounts: 3, transactionPages: refreshPages.pages },
        window: begun.window,
      },
    );

    // Assess
    const stored = await storedTransactionGuids(request.userId);
    const atMx = await mxTransactionGuids(request, initial.window);
    expect(beforeFinish.length).toBeGreaterThan(atMx.length); // the replaced pending rows were there
    expect(new Set(stored)).toEqual(new Set(atMx));
    expect(stored).toHaveLength(atMx.length);
  });
});

describe("startSync", () => {
  it("starts the member's run with its sync request; the same name again is already started", async () => {
    // Prepare: the member in the stack's table, so the run started really syncs it.
    const { request } = await connect("good-password", { identify: true }, stack.stores);
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    if (!member) throw new Error("the connected member is not stored");

    // Act: the same name again once that run ended (while it runs, the same start is answered with it).
    const first = await startSync(sfn, member, "initial", "sync-1");
    const [run] = executionsNamed(["sync-1"]);
    const result = await stack.workflow.waitForExecution(run?.executionArn ?? "");
    const again = await startSync(sfn, member, "initial", "sync-1");

    // Assess
    expect(first).toEqual({ started: true });
    expect(again).toEqual({ started: false });
    expect(executionsNamed(["sync-1"])).toHaveLength(1);
    expect(JSON.parse(run?.input ?? "{}")).toEqual(request);
    expect(result.status).toBe("SUCCEEDED");
  });
});

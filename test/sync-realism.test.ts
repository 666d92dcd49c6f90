// The sync workflow against MX as MX behaves (docs.mx.com; shared/mx/README.md), on the embedded stack: the
// synthesized state machine run by the local runner with the real handlers, the MX sandbox over HTTP with
// MX's defaults (3-hour rule, about 90 days of history), dynalite. The sandbox clock is moved where MX's
// rules depend on time; nothing here asserts wall-clock times.
import { randomUUID } from "node:crypto";
import { SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CORRECT_ANSWER, type Sandbox, type SandboxKnobs } from "../local/sandbox/index";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import { memberView } from "../shared/api/views";
import type { MxClient } from "../shared/mx/client";
import { collectAll } from "../shared/mx/pages";
import type { Stores } from "../shared/storage/dynamo";
import { answerChallenge } from "../shared/sync/answer-challenge";
import type { SyncRequest } from "../shared/sync/contract";
import { identifyMember } from "../shared/sync/identify-member";
import { createSfnPort } from "../shared/sync/sfn";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let stack: LocalStack;
let sandbox: Sandbox;
let mx: MxClient;
let stores: Stores;
let initialKnobs: SandboxKnobs;

beforeAll(async () => {
  stack = await startLocalStack({
    sandbox: { aggregationMs: 40, accountsPerMember: 2, transactionsPerAccount: 400 },
    waitScale: 0.002,
    env: {
      LOG_LEVEL: "SILENT",
      // This deployment asks MX for extended history on first syncs.
      EXTENDED_HISTORY: "true",
      // A job MX accepted may take this long to show; then the run concludes MX declined it.
      POLL_JOB_START_GRACE_SECONDS: "3",
    },
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  if (!stack.sandbox) throw new Error("these tests need the sandbox");
  sandbox = stack.sandbox;
  initialKnobs = sandbox.knobs;
  // The stack's own MX client (fast retries) and stores on its table.
  mx = stack.mx;
  stores = stack.stores;
});
afterEach(() => sandbox.setKnobs(initialKnobs));
afterAll(async () => {
  await stack?.close();
});

const connect = async (password = "good-password", options: { identify?: boolean } = {}) =>
  (await connectMxbankMember({ mx, members: stores.members }, password, options)).request;

async function run(request: SyncRequest) {
  const { executionArn } = stack.workflow.startExecution(request, `realism-${randomUUID()}`);
  const result = await stack.workflow.waitForExecution(executionArn);
  expect(result.status).toBe("SUCCEEDED");
  const member = await stores.members.getMember(request.userId, request.memberGuid);
  if (!member) throw new Error("the member is gone");
  return member;
}

const refreshOf = (request: SyncRequest): SyncRequest => ({ ...request, mode: "refresh", trigger: "user" });

/** Every stored transaction guid of the user's accounts. */
async function storedGuids(userId: string): Promise<Set<string>> {
  const guids = new Set<string>();
  for (const account of await stores.bankData.listAccounts(userId)) {
    let cursor: string | undefined;
    do {
      const page = await stores.bankData.listTransactions(userId, account.guid, { limit: 500, cursor });
      for (const item of page?.items ?? []) guids.add(item.guid);
      cursor = page?.cursor;
    } while (cursor);
  }
  return guids;
}

/** Every transaction guid MX holds for the member (read in spans MX accepts). */
async function guidsAtMx(request: SyncRequest): Promise<Set<string>> {
  const guids = new Set<string>();
  const today = Date.now() + sandbox.clock.offsetMs();
  for (let back = 0; back < 800; back += 150) {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const span = { fromDate: day(today - (back + 149) * DAY), toDate: day(today - back * DAY + 5 * DAY) };
    const items = await collectAll((page) =>
      mx.listTransactions(request.mxUserGuid, request.memberGuid, { ...span, page }),
    );
    for (const item of items) guids.add(item.guid);
  }
  return guids;
}

const calls = (route: string) => sandbox.stats().byRoute[route] ?? 0;
const OWNERS_ROUTE = "GET /users/{user_guid}/members/{member_guid}/account_owners";

describe("the 3-hour rule: a job is done only when MX's data moved past what it was", () => {
  it("a refresh within 3 hours of the last aggregation ends SYNCED saying MX declined, with MX's data time", async () => {
    // Prepare: a member synced just now.
    const request = await connect();
    const first = await run(request);
    const atMx = await mx.readMemberStatus(request.mxUserGuid, request.memberGuid);

    // Act
    const refreshed = await run(refreshOf(request));

    // Assess
    expect(first.sync).toMatchObject({ status: "SYNCED", aggregation: "AGGREGATED" });
    expect(refreshed.sync).toMatchObject({
      status: "SYNCED",
      aggregation: "DECLINED",
      dataAsOf: atMx.successfully_aggregated_at,
    });
    expect(refreshed.sync.reason).toContain(atMx.successfully_aggregated_at ?? "(none)");
    expect(await storedGuids(request.userId)).toEqual(await guidsAtMx(request));
    // What the app reads (GET /v1/members/{guid}): synced, on data MX did not refresh, and how fresh it is.
    expect(memberView(refreshed).sync).toMatchObject({
      status: "SYNCED",
      aggregation: "DECLINED",
      data_as_of: atMx.successfully_aggregated_at,
      reason: expect.stringContaining("did not aggregate"),
    });
  });

  it("a refresh 3 hours later, where MX starts the job a moment after the request, reads MX's new data", async () => {
    // Prepare
    const request = await connect();
    await run(request);
    const before = await mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    await sandbox.advanceTime(3 * HOUR + 60_000);
    sandbox.setKnobs({ jobStartDelayMs: 1_000 });

    // Act
    const refreshed = await run(refreshOf(request));

    // Assess: the pending transactions MX posted under new guids are the ones stored, none stale.
    const after = await mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    expect(Date.parse(after.successfully_aggregated_at ?? "")).toBeGreaterThan(
      Date.parse(before.successfully_aggregated_at ?? ""),
    );
    expect(refreshed.sync).toMatchObject({
      status: "SYNCED",
      aggregation: "AGGREGATED",
      dataAsOf: after.successfully_aggregated_at,
    });
    expect(refreshed.sync.reason).toBeUndefined();
    expect(await storedGuids(request.userId)).toEqual(await guidsAtMx(request));
  });
});

describe("history depth", () => {
  it("the first sync asks for extended history and reads it in spans MX accepts (≤ 6 months each)", async () => {
    // Prepare: an MX that refuses transaction ranges over about six months.
    sandbox.setKnobs({ maxDateRangeDays: 183 });
    const request = await connect();

    // Act
    const member = await run(request);

    // Assess
    expect(member.sync).toMatchObject({ status: "SYNCED" });
    expect(member.products).toMatchObject({ extendedHistory: "AVAILABLE" });
    const stored = await storedGuids(request.userId);
    expect(stored).toEqual(await guidsAtMx(request));
    expect(member.sync.counts?.transactions).toBe(stored.size);
    // Far past MX's standard ~90 days: the member says how far back its history goes.
    const today = Date.now() + sandbox.clock.offsetMs();
    expect(Date.parse(member.historyFrom ?? "")).toBeLessThan(today - 300 * DAY);
  });

  it("extended history is a job MX may challenge: each MFA round answered, the sync ends SYNCED with the longer history", async () => {
    // Prepare: every foreground job of this member asks an MFA question (MX: any aggregation may).
    const request = await connect("challenge");
    const { executionArn } = stack.workflow.startExecution(request, `realism-mfa-${randomUUID()}`);
    const deps = { mx, members: stores.members, sfn: createSfnPort(new SFNClient({})) };

    // Act: answer every prompt the run stores, until it ends.
    let rounds = 0;
    while (stack.workflow.stepFunctions.describeExecution({ executionArn }).status === "RUNNING") {
      const member = await stores.members.getMember(request.userId, request.memberGuid);
      if (member?.challengeTaskToken && member.challenges?.length) {
        const answers = member.challenges.map((c) => ({ guid: c.guid, value: CORRECT_ANSWER }));
        await answerChallenge(
          deps,
          { userId: request.userId, memberGuid: request.memberGuid, answers },
          { challengeTimeoutSeconds: 600 },
        );
        rounds += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const member = await stores.members.getMember(request.userId, request.memberGuid);

    // Assess: one round for the aggregation, one for extended history.
    expect(rounds).toBe(2);
    expect(member?.sync).toMatchObject({ status: "SYNCED" });
    expect(member?.products).toMatchObject({ extendedHistory: "AVAILABLE" });
    const today = Date.now() + sandbox.clock.offsetMs();
    expect(Date.parse(member?.historyFrom ?? "")).toBeLessThan(today - 300 * DAY);
  });

  it("where extended history is outside the client's MX contract (403), the sync ends SYNCED with standard history and says so", async () => {
    // Prepare
    sandbox.setKnobs({ products: { extendedHistory: false } });
    const request = await connect();

    // Act
    const member = await run(request);

    // Assess
    expect(member.sync).toMatchObject({ status: "SYNCED" });
    expect(member.products).toMatchObject({ extendedHistory: "NOT_ENABLED" });
    expect(member.sync.counts?.transactions).toBeGreaterThan(0);
    const today = Date.now() + sandbox.clock.offsetMs();
    expect(Date.parse(member.historyFrom ?? "")).toBeGreaterThan(today - 95 * DAY);
  });
});

describe("products outside the client's MX contract", () => {
  it("identity not enabled (403): the sync ends SYNCED with accounts and transactions, identity recorded as not enabled", async () => {
    // Prepare
    sandbox.setKnobs({ products: { identity: false } });
    const request = await connect("good-password", { identify: true });

    // Act
    const member = await run(request);

    // Assess
    expect(member.sync).toMatchObject({ status: "SYNCED", counts: { owners: 0, accounts: 2 } });
    expect(member.sync.counts?.transactions).toBeGreaterThan(0);
    expect(member.products).toMatchObject({ identity: "NOT_ENABLED" });
  });

  it("owners are not read for a member that did not ask for identity", async () => {
    // Prepare
    const request = await connect("good-password", { identify: false });
    const ownerCallsBefore = calls(OWNERS_ROUTE);

    // Act
    const member = await run(request);

    // Assess
    expect(member.sync).toMatchObject({ status: "SYNCED", counts: { owners: 0, accounts: 2 } });
    expect(calls(OWNERS_ROUTE)).toBe(ownerCallsBefore);
  });
});

describe("jobs already running", () => {
  it("identify while another kind of job runs (409) is asked again once that job ended", async () => {
    // Prepare: a connected member whose extend_history job is still running at MX.
    const request = await connect();
    await run(request);
    sandbox.setKnobs({ aggregationMs: 2_000 });
    await mx.extendHistory(request.mxUserGuid, request.memberGuid);
    const acquired = await stores.members.acquireSyncLease(request.userId, request.memberGuid, "run-x", HOUR);
    const deps = { mx, members: stores.members };

    // Act
    const busy = identifyMember(deps, { request, syncRun: "run-x" });
    // The error name is what the state machine's bounded Retry matches.
    await expect(busy).rejects.toMatchObject({ name: "MxJobBusyError" });
    await sandbox.advanceTime(3_000);
    const asked = await identifyMember(deps, { request, syncRun: "run-x" });

    // Assess
    expect(acquired).toBe(true);
    expect(asked).toMatchObject({ kind: "identify", requested: true });
    const status = await mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    expect(status.is_being_aggregated).toBe(true);
  });
});

// Deleting a big member (issue #11): DELETE answers 202 at once and the member reads as deleting; the
// purge Lambda deletes its rows from the embedded stack's queue in several resumptions, then the member is
// 404 and not one item of it is left, while the user's other member is untouched. A purge that crashes half
// way resumes; a sync or a background refresh racing the delete writes nothing behind the purge.
// The big member's size: MEMBER_DELETE_ROWS (default 5,000 transactions, to keep the file within about a
// minute on 2 shared cores; `MEMBER_DELETE_ROWS=100000 npx vitest run test/member-delete.test.ts` is the
// issue's size).
import { randomUUID } from "node:crypto";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLambdaContext } from "../local/lambda-context";
import { type LocalStack, startLocalStack } from "../local/stack";
import { apiRoutes } from "../shared/api/routes";
import { purgeMember } from "../shared/members/purge-member";
import type { PurgeMessage } from "../shared/members/purge-queue";
import { MEMBER_PURGE } from "../shared/members/settings";
import type { Transaction } from "../shared/mx/schemas";
import type { MemberStore } from "../shared/storage/ports";
import { apiEvent, type CallOptions, mxbankCredentials } from "./api-fixture";

const BIG_ROWS = Number(process.env.MEMBER_DELETE_ROWS ?? 5_000);
/** Seeding and purging take about 10 ms a row on a loaded 2-core machine (dynalite, every index). */
const BIG_TIMEOUT_MS = Math.max(600_000, BIG_ROWS * 12);

let stack: LocalStack;
type Handler = (event: unknown, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
const handlers = new Map<string, Handler>();

beforeAll(async () => {
  stack = await startLocalStack({
    sandbox: { aggregationMs: 30 },
    waitScale: 0.002,
    // The purge's start delay (180 s) in 1.8 s: longer than any local write in flight takes.
    sqsDelayScale: 0.01,
    // Each purge invocation has time for one step only: a big member takes many resumptions.
    purgeBudgetMs: 0,
    env: { API_BASE_URL: "https://api.example.test", REDIRECT_ALLOW_LIST: "https://app.example.test/" },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

async function call(routeId: string, options: CallOptions) {
  const route = apiRoutes.find((r) => r.id === routeId);
  if (!route) throw new Error(`no route ${routeId}`);
  let handler = handlers.get(routeId);
  if (!handler) {
    const file = new URL(`../${route.entry}`, import.meta.url).href;
    handler = ((await import(/* @vite-ignore */ file)) as { handler: Handler }).handler;
    handlers.set(routeId, handler);
  }
  const result = await handler(
    apiEvent(route.method, route.path, options),
    createLambdaContext({ functionName: routeId, timeoutMs: 30_000 }),
  );
  const text = typeof result.body === "string" ? result.body : "";
  return { status: result.statusCode ?? 200, body: text ? JSON.parse(text) : undefined, text };
}

/** Every item of the table that belongs to the member, except its change-log entries (the feed's history). */
async function itemsOf(memberGuid: string): Promise<Record<string, unknown>[]> {
  const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
  const found: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: stack.dynamo.tableName, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      if (item.entity === "change") continue;
      if (JSON.stringify(item).includes(memberGuid)) found.push(item);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found;
}

/** Removal entries of the member in the user's change log (what the changes feed reports as removed). */
async function removalsOf(userId: string, memberGuid: string): Promise<number> {
  let removed = 0;
  let after = 0;
  for (;;) {
    const page = await stack.stores.changes.read(userId, after, 1000);
    for (const entry of page.entries) {
      if (entry.op === "remove" && entry.memberGuid === memberGuid) removed += 1;
    }
    if (!page.hasMore) return removed;
    after = page.lastSeq;
  }
}

const transactionsOf = async (userId: string, accounts: string[]) => {
  let count = 0;
  for (const account of accounts) count += await stack.stores.bankData.countTransactions(userId, account);
  return count;
};

const transaction = (guid: string, accountGuid: string, i: number): Transaction => ({
  guid,
  account_guid: accountGuid,
  amount: 1 + (i % 100),
  date: `2026-0${1 + (i % 9)}-1${i % 10}`,
  description: "Coffee",
  // A few pending rows: they sit in the sparse pending index, which must empty too.
  status: i % 50 === 0 ? "PENDING" : "POSTED",
});

/** A member stored as a sync would leave it: owners, accounts, `rows` transactions, two runs of history. */
async function seedMember(userId: string, memberGuid: string, rows: number): Promise<string[]> {
  const { members, bankData, history } = stack.stores;
  await members.putMember({
    userId,
    mxUserGuid: `USR-${userId}`,
    memberGuid,
    institutionCode: "mxbank",
    isOauth: false,
    identify: true,
  });
  const accounts = [0, 1, 2].map((i) => `ACT-${memberGuid}-${i}`);
  await bankData.putAccounts(
    userId,
    memberGuid,
    accounts.map((guid) => ({ guid, member_guid: memberGuid, name: "Checking" })),
  );
  await bankData.putAccountOwners(userId, memberGuid, [
    { guid: `ACO-${memberGuid}`, account_guid: accounts[0] ?? null, owner_name: "Alice" },
  ]);
  const pages: Transaction[][] = [];
  for (let start = 0; start < rows; start += 1000) {
    pages.push(
      Array.from({ length: Math.min(1000, rows - start) }, (_, j) =>
        transaction(`TRN-${memberGuid}-${start + j}`, accounts[(start + j) % 3] ?? "", start + j),
      ),
    );
  }
  // Four pages at a time, as the workflow's Map writes them.
  let next = 0;
  const writer = async () => {
    for (let page = pages[next++]; page; page = pages[next++]) {
      await bankData.putTransactions(userId, memberGuid, page, "run-seed");
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  for (const runId of ["run-seed", "bg-webhook-1"]) {
    const at = new Date().toISOString();
    await history.recordRun(userId, memberGuid, {
      runId,
      trigger: "create",
      startedAt: at,
      finishedAt: at,
      outcome: "SYNCED",
      rows: { written: rows, removed: 0 },
    });
    await history.addMxCalls(userId, memberGuid, runId, 3);
  }
  return accounts;
}

describe("DELETE /v1/members/{guid} of a big member", () => {
  it(
    `answers 202, reads as deleting, purges ${BIG_ROWS} transactions in many resumptions, then 404 with nothing left`,
    async () => {
      // Prepare: a big member and another member of the same user.
      const userId = `user-${randomUUID()}`;
      const big = `MBR-big-${randomUUID()}`;
      const other = `MBR-other-${randomUUID()}`;
      const bigAccounts = await seedMember(userId, big, BIG_ROWS);
      const [otherAccount] = await seedMember(userId, other, 30);
      expect(await transactionsOf(userId, bigAccounts)).toBe(BIG_ROWS);
      const invocationsBefore = stack.aws.sqs.usage(stack.purge.queueName).invocations;
      const params = { member_guid: big };

      // Act
      const deleted = await call("DeleteMember", { sub: userId, params });
      const whileDeleting = await call("GetMember", { sub: userId, params });
      const syncWhileDeleting = await call("SyncMember", { sub: userId, params });
      const purgeStarted = performance.now();
      await stack.purge.drain(BIG_TIMEOUT_MS);
      const purgeMs = performance.now() - purgeStarted;
      const after = await call("GetMember", { sub: userId, params });
      const deletedAgain = await call("DeleteMember", { sub: userId, params });

      // Assess: 202 and the deleting view at once; 409 for a sync meanwhile; 404 once purged.
      expect(deleted.status, deleted.text).toBe(202);
      expect(deleted.body.member).toMatchObject({ guid: big, deleting: true });
      expect(whileDeleting.status).toBe(200);
      expect(whileDeleting.body.member.deleting).toBe(true);
      expect(syncWhileDeleting.status).toBe(409);
      expect(after.status).toBe(404);
      expect(deletedAgain.status).toBe(404);
      // Several resumptions: one step of MEMBER_PURGE.rowsPerStep rows per invocation here.
      const invocations = stack.aws.sqs.usage(stack.purge.queueName).invocations - invocationsBefore;
      expect(invocations).toBeGreaterThan(BIG_ROWS / MEMBER_PURGE.rowsPerStep);
      expect(stack.aws.sqs.messages(stack.purge.deadLetterQueueName)).toEqual([]);
      // Nothing of it is left (member, alias, owners, accounts, transactions, pending index, history) …
      expect(await itemsOf(big)).toEqual([]);
      expect(await stack.stores.bankData.pendingDays(userId, big)).toBeUndefined();
      // … every transaction is reported removed by the changes feed, and the app is told once.
      expect(await removalsOf(userId, big)).toBe(BIG_ROWS);
      const told = stack.aws.events
        .published()
        .filter((e) => e.detailType === "member.deleted" && JSON.stringify(e.detail).includes(big));
      expect(told).toHaveLength(1);
      // The user's other member is untouched.
      const kept = await call("GetMember", { sub: userId, params: { member_guid: other } });
      expect(kept.status).toBe(200);
      expect(kept.body.member.deleting).toBe(false);
      expect(await stack.stores.bankData.countTransactions(userId, otherAccount ?? "")).toBe(10);
      expect(await stack.stores.bankData.listAccountOwners(userId, other)).toHaveLength(1);
      expect((await stack.stores.history.listRuns(userId, other, { limit: 10 })).runs).toHaveLength(2);
      // For the record (not asserted: wall time depends on the machine).
      console.info(
        `member-delete: ${BIG_ROWS} transactions purged in ${invocations} invocations, ${Math.round(purgeMs)} ms`,
      );
    },
    BIG_TIMEOUT_MS,
  );
});

describe("the purge", () => {
  it("resumes after a crash half way: the member stays deleting, the next delivery leaves nothing", async () => {
    // Prepare: a marked member whose purge crashes at its second step (the store fails, as DynamoDB may).
    const userId = `user-${randomUUID()}`;
    const memberGuid = `MBR-crash-${randomUUID()}`;
    const accounts = await seedMember(userId, memberGuid, 2.5 * MEMBER_PURGE.rowsPerStep);
    await stack.stores.members.markDeleting(userId, memberGuid);
    const real = stack.stores.members;
    let steps = 0;
    const crashing: MemberStore = Object.create(real, {
      purgeMemberRows: {
        value: async (...args: Parameters<MemberStore["purgeMemberRows"]>) => {
          steps += 1;
          if (steps === 2) throw Object.assign(new Error("Internal error"), { name: "InternalServerError" });
          return real.purgeMemberRows(...args);
        },
      },
    });
    const continued: PurgeMessage[] = [];
    const published: string[] = [];
    const deps = {
      queue: { send: async (message: PurgeMessage) => void continued.push(message) },
      events: { publish: async (event: { type: string }) => void published.push(event.type) },
      now: () => new Date(),
      remainingMs: () => 10 * 60_000,
    };
    const message: PurgeMessage = { kind: "purgeMember", userId, memberGuid };

    // Act: the crashed delivery, then the redelivery.
    const crashed = await purgeMember({ ...deps, members: crashing }, message).catch((error: Error) => error);
    const halfWay = await stack.stores.members.getMember(userId, memberGuid);
    const leftHalfWay = await transactionsOf(userId, accounts);
    const resumed = await purgeMember({ ...deps, members: real }, message);

    // Assess
    expect(crashed).toBeInstanceOf(Error);
    expect(halfWay?.deletingAt).toBeDefined();
    expect(leftHalfWay).toBe(1.5 * MEMBER_PURGE.rowsPerStep);
    expect(resumed.outcome).toBe("PURGED");
    expect(await itemsOf(memberGuid)).toEqual([]);
    expect(published).toEqual(["member.deleted"]);
    expect(continued).toEqual([]);
  }, 300_000);

  it("purges nothing of a member that is not marked deleting (a stray message)", async () => {
    // Prepare
    const userId = `user-${randomUUID()}`;
    const memberGuid = `MBR-stray-${randomUUID()}`;
    await seedMember(userId, memberGuid, 10);
    const before = (await itemsOf(memberGuid)).length;

    // Act
    await new SQSClient({}).send(
      new SendMessageCommand({
        QueueUrl: stack.env.PURGE_QUEUE_URL,
        MessageBody: JSON.stringify({ kind: "purgeMember", userId, memberGuid }),
      }),
    );
    await stack.purge.drain();

    // Assess
    expect((await itemsOf(memberGuid)).length).toBe(before);
  }, 120_000);
});

describe("a sync or a background refresh racing the delete", () => {
  it("finds a member marked deleting closed: no lease for anyone, no row written, the old run's lease gone", async () => {
    // Prepare: a member whose run holds the lease.
    const userId = `user-${randomUUID()}`;
    const memberGuid = `MBR-marked-${randomUUID()}`;
    const [account = ""] = await seedMember(userId, memberGuid, 10);
    const { members, bankData } = stack.stores;
    expect(await members.acquireSyncLease(userId, memberGuid, "run-old", 60_000)).toBe(true);
    const stored = await bankData.countTransactions(userId, account);

    // Act
    const before = await members.markDeleting(userId, memberGuid);
    const again = await members.markDeleting(userId, memberGuid);
    const lease = await members.acquireSyncLease(userId, memberGuid, "run-new", 60_000);
    const writes = await Promise.allSettled([
      bankData.putTransactions(userId, memberGuid, [transaction("TRN-late", account, 1)], "run-old"),
      bankData.putAccounts(userId, memberGuid, [{ guid: account, name: "Late" }]),
      bankData.putAccountOwners(userId, memberGuid, [{ guid: "ACO-late", account_guid: account }]),
    ]);
    const update = await members
      .updateSync(userId, memberGuid, "run-old", { status: "CONNECTING" })
      .catch((error: Error) => error);
    const finished = await members.finishSync(userId, memberGuid, "run-old", { status: "SYNCED" });

    // Assess
    expect(before?.sync.syncRun).toBe("run-old");
    expect(again?.deletingAt).toBeDefined();
    expect(lease).toBe(false);
    expect(writes.map((w) => w.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(await bankData.countTransactions(userId, account)).toBe(stored);
    expect((await bankData.getAccount(userId, account))?.name).toBe("Checking");
    expect(await bankData.listAccountOwners(userId, memberGuid)).toHaveLength(1);
    expect(update).toMatchObject({ name: "SyncLeaseLostError" });
    expect(finished).toBe(false);
  }, 60_000);

  it("a webhook's background refresh of a member being deleted reads and writes nothing", async () => {
    // Prepare: a synced member, marked deleting (its purge not started yet).
    const userId = `user-${randomUUID()}`;
    const memberGuid = `MBR-refresh-${randomUUID()}`;
    await seedMember(userId, memberGuid, 10);
    const { members, history } = stack.stores;
    await members.acquireSyncLease(userId, memberGuid, "run-first", 60_000);
    await members.finishSync(userId, memberGuid, "run-first", { status: "SYNCED", outcome: "SYNCED" });
    await members.markDeleting(userId, memberGuid);
    const dlqBefore = stack.aws.sqs.messages(stack.refresh.deadLetterQueueName).length;

    // Act
    await new SQSClient({}).send(
      new SendMessageCommand({
        QueueUrl: stack.env.REFRESH_QUEUE_URL,
        MessageBody: JSON.stringify({ kind: "member", memberGuid, userId, trigger: "webhook" }),
      }),
    );
    await stack.refresh.drain(120_000);

    // Assess: handled at once (not retried into the DLQ), no run recorded, still deleting.
    expect(stack.aws.sqs.messages(stack.refresh.deadLetterQueueName)).toHaveLength(dlqBefore);
    expect((await history.listRuns(userId, memberGuid, { limit: 10 })).runs).toHaveLength(2);
    expect((await members.getMember(userId, memberGuid))?.deletingAt).toBeDefined();
  }, 120_000);

  it("writes nothing after the delete: the purge's end leaves no row, none comes back", async () => {
    // Prepare: a member whose first sync is reading its transactions, page after page, when DELETE comes.
    stack.sandbox?.setKnobs({
      accountsPerMember: 3,
      transactionsPerAccount: 3000,
      faults: { latencyMs: 40 },
    });
    const userId = `user-${randomUUID()}`;
    const created = await call("CreateMember", {
      sub: userId,
      body: { institution_code: "mxbank", credentials: mxbankCredentials("password") },
    });
    expect(created.status, created.text).toBeLessThan(300);
    const memberGuid: string = created.body.member.guid;
    const accountGuid = await waitFor(async () => {
      const [account] = await stack.stores.bankData.listAccounts(userId);
      return account && (await stack.stores.bankData.countTransactions(userId, account.guid)) > 0
        ? account.guid
        : undefined;
    });
    const runArn = `${stack.workflow.stateMachineArn.replace(":stateMachine:", ":execution:")}:${memberGuid}-initial`;

    // Act: DELETE mid-sync; a webhook's background refresh arrives while it is deleting.
    const deleted = await call("DeleteMember", { sub: userId, params: { member_guid: memberGuid } });
    await new SQSClient({}).send(
      new SendMessageCommand({
        QueueUrl: stack.env.REFRESH_QUEUE_URL,
        MessageBody: JSON.stringify({ kind: "member", memberGuid, userId, trigger: "webhook" }),
      }),
    );
    const run = await stack.workflow.waitForExecution(runArn);
    await stack.purge.drain(300_000);
    const leftAtEnd = await itemsOf(memberGuid);
    // Anything still in flight has had time to land.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await stack.purge.drain(300_000);

    // Assess
    expect(deleted.status, deleted.text).toBe(202);
    expect(run.status).toBe("ABORTED");
    // The webhook's refresh skipped the deleting member (no retries into the DLQ).
    expect(stack.aws.sqs.messages(stack.refresh.deadLetterQueueName)).toEqual([]);
    expect(leftAtEnd).toEqual([]);
    expect(await itemsOf(memberGuid)).toEqual([]);
    expect(await stack.stores.bankData.countTransactions(userId, accountGuid)).toBe(0);
    expect((await call("GetMember", { sub: userId, params: { member_guid: memberGuid } })).status).toBe(404);
  }, 300_000);
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("waitFor: timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

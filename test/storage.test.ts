// The storage ports against a real local DynamoDB (dynalite on a loopback ephemeral port).
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable, type LocalDynamo, startDynamo } from "../local/dynamo";
import type { Transaction } from "../shared/mx/schemas";
import {
  createStores,
  InvalidCursorError,
  InvalidQueryError,
  MemberNotFoundError,
  type Stores,
  SyncLeaseLostError,
} from "../shared/storage/dynamo";
import type { MemberRecord, TransactionQuery } from "../shared/storage/ports";

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamo();
  doc = DynamoDBDocumentClient.from(dynamo.client);
});
afterAll(async () => {
  await dynamo?.close();
});

/** Each test gets its own table, so tests never see each other's rows, and a clock it controls. */
async function freshStores(): Promise<{ stores: Stores; clock: { now: Date } }> {
  const tableName = `storage-test-${++tables}`;
  await createTable(dynamo.client, tableName);
  const clock = { now: new Date("2025-06-01T12:00:00.000Z") };
  const stores = createStores({ doc, tableName, now: () => clock.now, sleep: async () => {} });
  return { stores, clock };
}

/** Turns a rejection into a value, so Act can capture it and Assess can check it. */
const caught = (error: unknown) => error;

const member = (userId: string, memberGuid: string, extra: Partial<MemberRecord> = {}) => ({
  userId,
  mxUserGuid: `USR-${userId}`,
  memberGuid,
  institutionCode: "mxbank",
  isOauth: false,
  identify: false,
  ...extra,
});

function day(offset: number): string {
  return new Date(Date.UTC(2025, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
}

function transaction(guid: string, accountGuid: string, date: string, extra: Partial<Transaction> = {}) {
  return {
    guid,
    account_guid: accountGuid,
    member_guid: "MBR-1",
    amount: 12.5,
    date,
    description: `Purchase ${guid}`,
    status: "POSTED",
    ...extra,
  } satisfies Transaction;
}

/** Reads every page of one of alice's accounts' transactions. */
async function readAll(
  stores: Stores,
  accountGuid: string,
  query: { from?: string; to?: string; limit: number },
) {
  const items: Transaction[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listPage(stores, "alice", accountGuid, { ...query, cursor });
    items.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

/** One page of the user's account; fails the test when the store does not find the account. */
async function listPage(stores: Stores, userId: string, accountGuid: string, query: TransactionQuery) {
  const page = await stores.bankData.listTransactions(userId, accountGuid, query);
  if (!page) throw new Error(`${accountGuid} is not an account of ${userId}`);
  return page;
}

/** Alice's member MBR-1 with the given accounts stored (transactions are listed only for stored accounts). */
async function aliceWithAccounts(stores: Stores, ...accountGuids: string[]): Promise<void> {
  await stores.members.putMember(member("alice", "MBR-1"));
  await stores.bankData.putAccounts(
    "alice",
    "MBR-1",
    accountGuids.map((guid) => ({ guid })),
  );
}

describe("members", () => {
  it("stores members per user: a user never sees another user's member", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-a1"));
    await stores.members.putMember(
      member("alice", "MBR-a2", { isOauth: true, redirectUrl: "https://app/x" }),
    );
    await stores.members.putMember(member("bob", "MBR-b1"));

    // Act
    const alices = await stores.members.listMembers("alice");
    const bobSeesAlices = await stores.members.getMember("bob", "MBR-a1");
    const alice2 = await stores.members.getMember("alice", "MBR-a2");

    // Assess
    expect(alices.map((m) => m.memberGuid).sort()).toEqual(["MBR-a1", "MBR-a2"]);
    expect(bobSeesAlices).toBeUndefined();
    expect(alice2).toMatchObject({
      userId: "alice",
      memberGuid: "MBR-a2",
      isOauth: true,
      redirectUrl: "https://app/x",
      sync: { status: "PENDING" },
      createdAt: "2025-06-01T12:00:00.000Z",
    });
  });

  it("re-putting a member updates identity fields but keeps a running sync and createdAt", async () => {
    // Prepare
    const { stores, clock } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    await stores.members.acquireSyncLease("alice", "MBR-1", "run-1", 60_000);
    await stores.members.updateSync("alice", "MBR-1", "run-1", { status: "CONNECTING" });
    clock.now = new Date("2025-06-01T13:00:00.000Z");

    // Act
    const updated = await stores.members.putMember(
      member("alice", "MBR-1", { identify: true, sync: { status: "PENDING" } }),
    );

    // Assess
    expect(updated.identify).toBe(true);
    expect(updated.sync).toMatchObject({ status: "CONNECTING", syncRun: "run-1" });
    expect(updated.createdAt).toBe("2025-06-01T12:00:00.000Z");
    expect(updated.updatedAt).toBe("2025-06-01T13:00:00.000Z");
  });

  it("records a connection status, and refuses to create a member by doing so", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));

    // Act
    await stores.members.recordConnectionStatus("alice", "MBR-1", "CONNECTED");
    const missing = await stores.members
      .recordConnectionStatus("alice", "MBR-nope", "CONNECTED")
      .catch(caught);

    // Assess
    expect((await stores.members.getMember("alice", "MBR-1"))?.connectionStatus).toBe("CONNECTED");
    expect(missing).toBeInstanceOf(MemberNotFoundError);
    expect(await stores.members.getMember("alice", "MBR-nope")).toBeUndefined();
  });
});

describe("sync lease", () => {
  it("lets one run at a time own the member; the same run may re-acquire", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));

    // Act
    const first = await stores.members.acquireSyncLease("alice", "MBR-1", "run-1", 60_000);
    const second = await stores.members.acquireSyncLease("alice", "MBR-1", "run-2", 60_000);
    const retry = await stores.members.acquireSyncLease("alice", "MBR-1", "run-1", 60_000);

    // Assess
    expect([first, second, retry]).toEqual([true, false, true]);
    expect((await stores.members.getMember("alice", "MBR-1"))?.sync.syncRun).toBe("run-1");
  });

  it("hands an expired lease to a new run; the stale run can then neither update nor finish", async () => {
    // Prepare
    const { stores, clock } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    await stores.members.acquireSyncLease("alice", "MBR-1", "run-1", 60_000);
    clock.now = new Date(clock.now.getTime() + 61_000);

    // Act
    const takenOver = await stores.members.acquireSyncLease("alice", "MBR-1", "run-2", 60_000);
    const staleUpdate = await stores.members
      .updateSync("alice", "MBR-1", "run-1", { status: "SYNCING" })
      .catch(caught);
    const staleFinish = await stores.members.finishSync("alice", "MBR-1", "run-1", {
      status: "FAILED",
      outcome: "FAILED",
    });
    const finish = await stores.members.finishSync("alice", "MBR-1", "run-2", {
      status: "SYNCED",
      outcome: "SYNCED",
      finishedAt: "2025-06-01T12:02:00.000Z",
      counts: { owners: 1, accounts: 2, transactions: 3 },
    });
    const next = await stores.members.acquireSyncLease("alice", "MBR-1", "run-3", 60_000);

    // Assess
    expect(takenOver).toBe(true);
    expect(staleUpdate).toBeInstanceOf(SyncLeaseLostError);
    expect(staleFinish).toBe(false);
    expect(finish).toBe(true);
    expect(next).toBe(true);
    const stored = await stores.members.getMember("alice", "MBR-1");
    expect(stored?.sync).toMatchObject({
      status: "SYNCED",
      outcome: "SYNCED",
      lastSyncedAt: "2025-06-01T12:02:00.000Z",
      counts: { owners: 1, accounts: 2, transactions: 3 },
      syncRun: "run-3",
    });
  });

  it("of two runs starting at the same moment, exactly one gets the lease", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));

    // Act
    const results = await Promise.all(
      ["run-a", "run-b", "run-c"].map((run) =>
        stores.members.acquireSyncLease("alice", "MBR-1", run, 60_000),
      ),
    );

    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("refuses a lease, or a sync update, for a member that does not exist", async () => {
    // Prepare
    const { stores } = await freshStores();

    // Act
    const acquire = await stores.members.acquireSyncLease("alice", "MBR-gone", "run-1", 60_000).catch(caught);
    const update = await stores.members
      .updateSync("alice", "MBR-gone", "run-1", { status: "SYNCING" })
      .catch(caught);

    // Assess
    expect(acquire).toBeInstanceOf(MemberNotFoundError);
    expect(update).toBeInstanceOf(MemberNotFoundError);
    expect(await stores.members.getMember("alice", "MBR-gone")).toBeUndefined();
  });
});

describe("challenges", () => {
  it("hands the waiting task token out once, then never again", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    const challenge = { guid: "CRD-1", label: "What is your favorite color?", type: "TEXT" };
    await stores.members.saveChallenges("alice", "MBR-1", [challenge], "task-token-1", 600);
    const waiting = await stores.members.getMember("alice", "MBR-1");

    // Act
    const [first, second] = await Promise.all([
      stores.members.takeChallengeTaskToken("alice", "MBR-1"),
      stores.members.takeChallengeTaskToken("alice", "MBR-1"),
    ]);

    // Assess
    expect(waiting?.challenges).toEqual([challenge]);
    expect([first, second].sort()).toEqual(["task-token-1", undefined]);
    const after = await stores.members.getMember("alice", "MBR-1");
    expect(after?.challengeTaskToken).toBeUndefined();
    expect(after?.challenges).toBeUndefined();
  });

  it("does not hand out an expired token", async () => {
    // Prepare
    const { stores, clock } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    await stores.members.saveChallenges("alice", "MBR-1", [{ guid: "CRD-1" }], "task-token-1", 600);
    clock.now = new Date(clock.now.getTime() + 601_000);

    // Act
    const token = await stores.members.takeChallengeTaskToken("alice", "MBR-1");

    // Assess
    expect(token).toBeUndefined();
    expect((await stores.members.getMember("alice", "MBR-1"))?.challengeTaskToken).toBeUndefined();
  });
});

describe("challenge timeout", () => {
  it("finishing the run clears a waiting challenge and its token", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    await stores.members.acquireSyncLease("alice", "MBR-1", "run-1", 60_000);
    await stores.members.saveChallenges("alice", "MBR-1", [{ guid: "CRD-1" }], "task-token-1", 600);

    // Act
    const finished = await stores.members.finishSync("alice", "MBR-1", "run-1", {
      status: "TIMED_OUT",
      outcome: "TIMED_OUT",
      reason: "The security question was not answered in time.",
    });

    // Assess
    expect(finished).toBe(true);
    const stored = await stores.members.getMember("alice", "MBR-1");
    expect(stored?.challenges).toBeUndefined();
    expect(stored?.challengeTaskToken).toBeUndefined();
    expect(stored?.sync.syncRun).toBeUndefined();
    expect(await stores.members.takeChallengeTaskToken("alice", "MBR-1")).toBeUndefined();
  });
});

describe("transactions", () => {
  const ACCOUNT = "ACT-big";
  const all = Array.from({ length: 2500 }, (_, i) =>
    // 10 a day over 250 days; guids not in date order, so ordering is by the date index, not the guid.
    transaction(`TRN-${String((i * 7919) % 2500).padStart(5, "0")}`, ACCOUNT, day(Math.floor(i / 10))),
  );
  const newestFirst = (items: Transaction[]) =>
    [...items].sort((a, b) => (b.date ?? "").localeCompare(a.date ?? "") || b.guid.localeCompare(a.guid));

  it("writes 2,500 transactions and reads them back newest first in pages, without gaps or duplicates", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);

    // Act
    const written = await stores.bankData.putTransactions("alice", "MBR-1", all, "run-1");
    const { items, pages } = await readAll(stores, ACCOUNT, { limit: 97 });

    // Assess
    expect(written).toBe(2500);
    expect(pages).toBe(Math.ceil(2500 / 97));
    expect(items.map((t) => t.guid)).toEqual(newestFirst(all).map((t) => t.guid));
    expect(items[0]).toEqual(newestFirst(all)[0]);
    expect(await stores.bankData.countTransactions("alice", ACCOUNT)).toBe(2500);
  });

  it("filters by an inclusive date range, paging within it", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    await stores.bankData.putTransactions("alice", "MBR-1", all, "run-1");
    const from = day(100);
    const to = day(119);

    // Act
    const range = await readAll(stores, ACCOUNT, { from, to, limit: 30 });
    const sinceOnly = await readAll(stores, ACCOUNT, { from: day(245), limit: 500 });
    const untilOnly = await readAll(stores, ACCOUNT, { to: day(0), limit: 500 });
    const empty = await listPage(stores, "alice", ACCOUNT, { from: to, to: from, limit: 10 });

    // Assess
    const expected = newestFirst(all.filter((t) => (t.date ?? "") >= from && (t.date ?? "") <= to));
    expect(expected).toHaveLength(200);
    expect(range.items.map((t) => t.guid)).toEqual(expected.map((t) => t.guid));
    expect(sinceOnly.items).toHaveLength(50);
    expect(untilOnly.items).toHaveLength(10);
    expect(empty).toEqual({ items: [] });
  });

  it("returns no cursor after the last page, even when it is exactly full", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    await stores.bankData.putTransactions("alice", "MBR-1", all.slice(0, 20), "run-1");

    // Act
    const first = await listPage(stores, "alice", ACCOUNT, { limit: 10 });
    const second = await listPage(stores, "alice", ACCOUNT, { limit: 10, cursor: first.cursor });

    // Assess
    expect(first.items).toHaveLength(10);
    expect(first.cursor).toEqual(expect.any(String));
    expect(second.items).toHaveLength(10);
    expect(second.cursor).toBeUndefined();
  });

  it("re-writing the same transactions overwrites them: no duplicates", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    await stores.bankData.putTransactions("alice", "MBR-1", all.slice(0, 300), "run-1");

    // Act
    const changed = all.slice(0, 300).map((t) => ({ ...t, description: "updated" }));
    await stores.bankData.putTransactions("alice", "MBR-1", [...changed, ...changed.slice(0, 5)], "run-2");

    // Assess
    const { items } = await readAll(stores, ACCOUNT, { limit: 500 });
    expect(items).toHaveLength(300);
    expect(new Set(items.map((t) => t.description))).toEqual(new Set(["updated"]));
    expect(await stores.bankData.countTransactions("alice", ACCOUNT, { syncRun: "run-2" })).toBe(300);
    expect(await stores.bankData.countTransactions("alice", ACCOUNT, { syncRun: "run-1" })).toBe(0);
  });

  it("removes pending transactions a later run no longer saw (posted under a new guid), only in its window", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    const pendingInWindow = transaction("TRN-p1", ACCOUNT, "2025-03-10", { status: "PENDING" });
    const pendingBeforeWindow = transaction("TRN-p0", ACCOUNT, "2025-02-01", { status: "PENDING" });
    const stillPending = transaction("TRN-p2", ACCOUNT, "2025-03-11", { status: "PENDING" });
    const posted = transaction("TRN-x", ACCOUNT, "2025-03-09");
    await stores.bankData.putTransactions(
      "alice",
      "MBR-1",
      [pendingInWindow, pendingBeforeWindow, stillPending, posted],
      "run-1",
    );
    const postedReplacement = transaction("TRN-p1-posted", ACCOUNT, "2025-03-10");
    await stores.bankData.putTransactions(
      "alice",
      "MBR-1",
      [postedReplacement, stillPending, posted],
      "run-2",
    );

    // Act
    const removed = await stores.bankData.removeVanishedPending(
      "alice",
      "MBR-1",
      "2025-03-01",
      "2025-03-15",
      "run-2",
    );

    // Assess
    expect(removed).toBe(1);
    const { items } = await readAll(stores, ACCOUNT, { limit: 100 });
    expect(items.map((t) => t.guid)).toEqual(["TRN-p2", "TRN-p1-posted", "TRN-x", "TRN-p0"]);
  });

  it("rejects malformed, foreign and out-of-range cursors with InvalidCursorError", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT, "ACT-other");
    await stores.bankData.putTransactions("alice", "MBR-1", all.slice(0, 50), "run-1");
    const { cursor } = await listPage(stores, "alice", ACCOUNT, { limit: 10 });
    const forged = Buffer.from(JSON.stringify({ pk: "USER#bob", sk: "MEMBER#x", dateKey: "y" })).toString(
      "base64url",
    );

    // Act
    const errors = await Promise.all(
      [
        { accountGuid: ACCOUNT, query: { limit: 10, cursor: "not a cursor!" } },
        { accountGuid: ACCOUNT, query: { limit: 10, cursor: "bm90IGpzb24" } }, // base64url, not JSON
        { accountGuid: ACCOUNT, query: { limit: 10, cursor: forged } },
        { accountGuid: "ACT-other", query: { limit: 10, cursor } }, // another account's cursor (alice's too)
        { accountGuid: ACCOUNT, query: { limit: 10, cursor, from: "2025-12-01" } }, // outside the range
      ].map(({ accountGuid, query }) =>
        stores.bankData.listTransactions("alice", accountGuid, query).catch(caught),
      ),
    );
    const tooLarge = await stores.bankData.listTransactions("alice", ACCOUNT, { limit: 501 }).catch(caught);

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(InvalidCursorError);
      expect(error).toMatchObject({ name: "InvalidCursorError" });
    }
    expect(tooLarge).toBeInstanceOf(InvalidQueryError);
  });

  it("stores only the schema's MX fields", async () => {
    // Prepare
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    const withExtras = { ...transaction("TRN-1", ACCOUNT, "2025-01-01"), secret_field: "do not keep" };

    // Act
    await stores.bankData.putTransactions("alice", "MBR-1", [withExtras], "run-1");

    // Assess
    const { items } = await listPage(stores, "alice", ACCOUNT, { limit: 10 });
    expect(items).toEqual([transaction("TRN-1", ACCOUNT, "2025-01-01")]);
  });

  it("never lists or counts another user's account transactions, even given its guid", async () => {
    // Prepare: bob's account, with transactions; alice knows its guid.
    const { stores } = await freshStores();
    await aliceWithAccounts(stores, ACCOUNT);
    await stores.members.putMember(member("bob", "MBR-b"));
    await stores.bankData.putAccounts("bob", "MBR-b", [{ guid: "ACT-bob" }]);
    await stores.bankData.putTransactions("bob", "MBR-b", [transaction("TRN-b", "ACT-bob", day(0))], "run-b");

    // Act
    const aliceReadsBobs = await stores.bankData.listTransactions("alice", "ACT-bob", { limit: 10 });
    const aliceReadsUnknown = await stores.bankData.listTransactions("alice", "ACT-nope", { limit: 10 });
    const aliceCountsBobs = await stores.bankData.countTransactions("alice", "ACT-bob");
    const bobReadsHis = await stores.bankData.listTransactions("bob", "ACT-bob", { limit: 10 });

    // Assess
    expect(aliceReadsBobs).toBeUndefined();
    expect(aliceReadsUnknown).toBeUndefined();
    expect(aliceCountsBobs).toBe(0);
    expect(bobReadsHis?.items.map((t) => t.guid)).toEqual(["TRN-b"]);
  });
});

describe("owners, accounts and deletion", () => {
  it("deleteMember removes the member and every row of it, and nothing of the user's other member", async () => {
    // Prepare
    const { stores } = await freshStores();
    await stores.members.putMember(member("alice", "MBR-1"));
    await stores.members.putMember(member("alice", "MBR-2"));
    await stores.bankData.putAccountOwners("alice", "MBR-1", [{ guid: "ACO-1", owner_name: "Alice" }]);
    await stores.bankData.putAccounts("alice", "MBR-1", [{ guid: "ACT-1", name: "Checking", balance: 10 }]);
    await stores.bankData.putAccounts("alice", "MBR-2", [{ guid: "ACT-2", name: "Savings" }]);
    const txns = Array.from({ length: 60 }, (_, i) => transaction(`TRN-${i}`, "ACT-1", day(i)));
    // ACT-orphan has transactions but its account row was never stored (StoreAccounts failed).
    const orphans = [transaction("TRN-o1", "ACT-orphan", day(1))];
    await stores.bankData.putTransactions("alice", "MBR-1", [...txns, ...orphans], "run-1");
    await stores.bankData.putTransactions("alice", "MBR-2", [transaction("TRN-k", "ACT-2", day(1))], "run-1");

    // Act
    await stores.members.deleteMember("alice", "MBR-1");

    // Assess
    expect(await stores.members.getMember("alice", "MBR-1")).toBeUndefined();
    expect(await stores.bankData.listAccountOwners("alice", "MBR-1")).toEqual([]);
    expect((await stores.bankData.listAccounts("alice")).map((a) => a.guid)).toEqual(["ACT-2"]);
    expect(await stores.bankData.countTransactions("alice", "ACT-1")).toBe(0);
    expect(await stores.bankData.countTransactions("alice", "ACT-orphan")).toBe(0);
    expect(await stores.bankData.countTransactions("alice", "ACT-2")).toBe(1);
    expect(await stores.members.getMember("alice", "MBR-2")).toBeDefined();
  });

  it("lists owners per member and accounts per user, and gets one account", async () => {
    // Prepare
    const { stores } = await freshStores();
    // Rows are written only for a stored member (no orphans).
    for (const [user, guid] of [
      ["alice", "MBR-1"],
      ["alice", "MBR-2"],
      ["bob", "MBR-3"],
    ] as const) {
      await stores.members.putMember(member(user, guid));
    }
    await stores.bankData.putAccountOwners("alice", "MBR-1", [{ guid: "ACO-1", owner_name: "Alice" }]);
    await stores.bankData.putAccountOwners("alice", "MBR-2", [{ guid: "ACO-2", owner_name: "Al" }]);
    await stores.bankData.putAccounts("alice", "MBR-1", [{ guid: "ACT-1", name: "Checking" }]);
    await stores.bankData.putAccounts("bob", "MBR-3", [{ guid: "ACT-3", name: "Bob's" }]);

    // Act
    const owners = await stores.bankData.listAccountOwners("alice", "MBR-1");
    const accounts = await stores.bankData.listAccounts("alice");
    const mine = await stores.bankData.getAccount("alice", "ACT-1");
    const notMine = await stores.bankData.getAccount("alice", "ACT-3");

    // Assess
    expect(owners).toEqual([{ guid: "ACO-1", owner_name: "Alice" }]);
    expect(accounts).toEqual([{ guid: "ACT-1", name: "Checking" }]);
    expect(mine).toEqual({ guid: "ACT-1", name: "Checking" });
    expect(notMine).toBeUndefined();
  });

  it("refuses to write transactions for a member that does not exist", async () => {
    // Prepare
    const { stores } = await freshStores();

    // Act
    const write = await stores.bankData
      .putTransactions("alice", "MBR-gone", [transaction("T-1", "ACT-1", day(0))], "r")
      .catch(caught);

    // Assess
    expect(write).toBeInstanceOf(MemberNotFoundError);
    expect(await stores.bankData.countTransactions("alice", "ACT-1")).toBe(0);
  });
});

describe("members to refresh", () => {
  it("pages through the members whose sync succeeded, and drops those that need the user", async () => {
    // Prepare
    const { stores } = await freshStores();
    const finish = async (userId: string, memberGuid: string, outcome: string) => {
      await stores.members.acquireSyncLease(userId, memberGuid, `run-${memberGuid}`, 60_000);
      await stores.members.finishSync(userId, memberGuid, `run-${memberGuid}`, { outcome });
    };
    for (let i = 0; i < 7; i++) await stores.members.putMember(member(`user-${i % 3}`, `MBR-${i}`));
    for (let i = 0; i < 5; i++) await finish(`user-${i % 3}`, `MBR-${i}`, "SYNCED");
    await finish("user-2", "MBR-5", "NEEDS_USER"); // never synced: not refreshed
    await finish("user-0", "MBR-0", "FAILED"); // synced before, transient failure: still refreshed
    await finish("user-1", "MBR-1", "NEEDS_USER"); // synced before, now needs the user: dropped

    // Act
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await stores.members.listMembersToRefresh(2, cursor);
      seen.push(...page.members.map((m) => m.memberGuid));
      cursor = page.cursor;
      pages++;
    } while (cursor);

    // Assess
    expect(seen.sort()).toEqual(["MBR-0", "MBR-2", "MBR-3", "MBR-4"]);
    expect(pages).toBe(2);
    const transactionCursor = Buffer.from(
      JSON.stringify({ pk: "ACCOUNT#ACT-1", sk: "TXN#TRN-1", dateKey: "2025-01-01#TRN-1" }),
    ).toString("base64url");
    for (const foreign of ["garbage!", transactionCursor]) {
      expect(await stores.members.listMembersToRefresh(2, foreign).catch(caught)).toBeInstanceOf(
        InvalidCursorError,
      );
    }
  });
});

describe("once", () => {
  it("claims a key once; a replay is refused until the key expires", async () => {
    // Prepare
    const { stores, clock } = await freshStores();

    // Act
    const first = await stores.once.claim("oauth-state:abc", 600);
    const replay = await stores.once.claim("oauth-state:abc", 600);
    const other = await stores.once.claim("oauth-state:def", 600);
    clock.now = new Date(clock.now.getTime() + 601_000);
    const afterExpiry = await stores.once.claim("oauth-state:abc", 600);

    // Assess
    expect([first, replay, other, afterExpiry]).toEqual([true, false, true, true]);
  });
});

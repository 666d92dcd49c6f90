// A refresh writes (and logs in the changes feed) only the rows MX changed: the storage write path reads the
// stored rows first (dynalite, strongly consistent) and skips those that are the same.
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable, type LocalDynamo, startDynamo } from "../local/dynamo";
import { syncTransactions } from "../shared/feed/transactions-sync";
import type { Account, Transaction } from "../shared/mx/schemas";
import { createStores, type Stores } from "../shared/storage/dynamo";

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

const ACCOUNT = "ACT-1";
const now = () => new Date("2025-06-01T12:00:00.000Z");
const keys = { changesCursor: Buffer.alloc(32, 7) };

async function freshStores(): Promise<Stores> {
  const tableName = `unchanged-rows-${++tables}`;
  await createTable(dynamo.client, tableName);
  return createStores({ doc, tableName, now, sleep: async () => {} });
}

function transaction(guid: string, extra: Partial<Transaction> = {}) {
  return {
    guid,
    account_guid: ACCOUNT,
    member_guid: "MBR-1",
    amount: 12.5,
    date: "2025-05-20",
    description: `Purchase ${guid}`,
    status: "POSTED",
    ...extra,
  } satisfies Transaction;
}

const rows = Array.from({ length: 150 }, (_, i) => transaction(`TRN-${String(i).padStart(3, "0")}`));
const accounts: Account[] = [{ guid: ACCOUNT, name: "Checking", balance: 100.25 }];

/** One run of alice's member MBR-1 as the workflow makes it: lease, accounts, transactions, SYNCED. */
async function run(stores: Stores, syncRun: string, transactions: Transaction[], account = accounts) {
  await stores.members.acquireSyncLease("alice", "MBR-1", syncRun, 60_000);
  const accountsWritten = await stores.bankData.putAccounts("alice", "MBR-1", account);
  const written = await stores.bankData.putTransactions("alice", "MBR-1", transactions, syncRun);
  await stores.members.finishSync("alice", "MBR-1", syncRun, { status: "SYNCED", outcome: "SYNCED" });
  return { accountsWritten, written };
}

async function syncedAlice(): Promise<Stores> {
  const stores = await freshStores();
  await stores.members.putMember({
    userId: "alice",
    mxUserGuid: "USR-alice",
    memberGuid: "MBR-1",
    institutionCode: "mxbank",
    isOauth: false,
    identify: false,
  });
  await run(stores, "run-1", rows);
  return stores;
}

/** The feed's page since `cursor` (every change after it). */
const feedSince = (stores: Stores, cursor: string) =>
  syncTransactions({ changes: stores.changes, keys, now }, "alice", { cursor, count: 500 });

describe("a refresh writes only what MX changed", () => {
  it("rows the same as stored are neither written nor logged: the feed shows no `modified` after it", async () => {
    // Prepare
    const stores = await syncedAlice();
    const before = await syncTransactions({ changes: stores.changes, keys, now }, "alice", { count: 500 });
    const head = await stores.changes.head("alice");

    // Act
    const again = await run(stores, "run-2", rows);

    // Assess
    expect(again).toEqual({ accountsWritten: 0, written: 0 });
    expect(await stores.changes.head("alice")).toBe(head);
    const feed = await feedSince(stores, before.next_cursor);
    expect(feed).toMatchObject({ added: [], modified: [], removed: [] });
    expect(await stores.bankData.countTransactions("alice", ACCOUNT)).toBe(150);
  });

  it("a changed field is written and logged, once, and the feed shows just that row as `modified`", async () => {
    // Prepare
    const stores = await syncedAlice();
    const before = await syncTransactions({ changes: stores.changes, keys, now }, "alice", { count: 500 });
    const changed = rows.map((row, i) => (i === 42 ? { ...row, amount: 99.99 } : row));
    const newBalance = [{ ...accounts[0], guid: ACCOUNT, balance: 7.5 }];

    // Act
    const again = await run(stores, "run-2", changed, newBalance);

    // Assess
    expect(again).toEqual({ accountsWritten: 1, written: 1 });
    const feed = await feedSince(stores, before.next_cursor);
    expect(feed.modified).toEqual([expect.objectContaining({ guid: "TRN-042", amount: 99.99 })]);
    expect(await stores.bankData.getAccount("alice", ACCOUNT)).toMatchObject({ balance: 7.5 });
  });

  it("a pending row MX still reports unchanged keeps its place (not removed as vanished) and logs nothing", async () => {
    // Prepare
    const stores = await freshStores();
    await stores.members.putMember({
      userId: "alice",
      mxUserGuid: "USR-alice",
      memberGuid: "MBR-1",
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
    const pending = [
      transaction("TRN-p1", { status: "PENDING" }),
      transaction("TRN-p2", { status: "PENDING" }),
    ];
    await run(stores, "run-1", pending);
    const head = await stores.changes.head("alice");

    // Act: MX still reports TRN-p1 unchanged; TRN-p2 vanished
    await stores.members.acquireSyncLease("alice", "MBR-1", "run-2", 60_000);
    await stores.bankData.putTransactions("alice", "MBR-1", [pending[0] as Transaction], "run-2");
    const removed = await stores.bankData.removeVanishedPending(
      "alice",
      "MBR-1",
      "2025-05-20",
      "2025-05-20",
      "run-2",
    );

    // Assess
    expect(removed).toBe(1);
    const left = await stores.bankData.listTransactions("alice", ACCOUNT, { limit: 10 });
    expect(left?.items.map((t) => t.guid)).toEqual(["TRN-p1"]);
    const entries = await stores.changes.read("alice", head, 10);
    expect(entries.entries).toEqual([expect.objectContaining({ op: "remove", guid: "TRN-p2" })]);
  });

  it("a caller that keeps only MX's changes itself (the background refresh) has every row written and logged", async () => {
    // Prepare
    const stores = await syncedAlice();
    const head = await stores.changes.head("alice");
    await stores.members.acquireSyncLease("alice", "MBR-1", "bg-run", 60_000);

    // Act
    const written = await stores.bankData.putTransactions("alice", "MBR-1", rows, "bg-run", {
      skipUnchanged: false,
    });

    // Assess
    expect(written).toBe(150);
    expect(await stores.changes.head("alice")).toBe(head + 150);
  });

  it("a run's own rows are written and logged again (its retry logs what a dead attempt left unlogged)", async () => {
    // Prepare
    const stores = await syncedAlice();
    await stores.members.acquireSyncLease("alice", "MBR-1", "run-2", 60_000);
    const changed = rows.slice(0, 10).map((row) => ({ ...row, description: "moved" }));
    await stores.bankData.putTransactions("alice", "MBR-1", changed, "run-2");
    const head = await stores.changes.head("alice");

    // Act: the task's retry writes the same page
    const retried = await stores.bankData.putTransactions("alice", "MBR-1", changed, "run-2");

    // Assess
    expect(retried).toBe(10);
    expect(await stores.changes.head("alice")).toBe(head + 10);
  });
});

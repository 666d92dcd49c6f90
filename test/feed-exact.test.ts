// The transactions changes feed is exact: an app that applies every page, in order, to a copy that started
// empty holds exactly the stored rows whenever the feed says it is caught up (has_more false), whatever
// syncs, background refreshes, pending→posted replacements and member deletions ran between two reads.
// Property-based (fast-check): random sequences against the real stores on dynalite.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable, LOCAL_AWS, type LocalDynamo, startDynamo } from "../local/dynamo";
import { deriveApiKeys } from "../shared/api/oauth-state";
import { syncTransactions, type TransactionsSyncPage } from "../shared/feed/transactions-sync";
import type { Transaction } from "../shared/mx/schemas";
import { createStores, MemberNotFoundError, type Stores } from "../shared/storage/dynamo";
import { transactionsPk } from "../shared/storage/keys";

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let stores: Stores;
const TABLE = "feed-exact";
const keys = deriveApiKeys("feed-exact-test-secret-0123456789abcdef");
const clock = { now: new Date("2026-11-01T12:00:00.000Z") };

beforeAll(async () => {
  dynamo = await startDynamo();
  doc = DynamoDBDocumentClient.from(dynamo.client);
  if (process.env.FEED_COUNT_CALLS) {
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        calls[String(context.commandName)] = (calls[String(context.commandName)] ?? 0) + 1;
        return next(args);
      },
      { step: "initialize" },
    );
  }
  await createTable(dynamo.client, TABLE);
  stores = createStores({ doc, tableName: TABLE, now: () => clock.now, sleep: async () => {} });
});
const calls: Record<string, number> = {};
afterAll(async () => {
  if (process.env.FEED_COUNT_CALLS) console.log(calls);
  await dynamo?.close();
});

const MEMBERS = ["MBR-a", "MBR-b"] as const;
const ACCOUNTS = ["ACT-0", "ACT-1"] as const;

type Row = { guid: number; pending: boolean; amount: number };
type Op =
  | { kind: "sync"; member: number; rows: Row[] }
  | { kind: "refresh"; member: number; rows: Row[] }
  | { kind: "delete"; member: number }
  | { kind: "reconnect"; member: number }
  | { kind: "read"; count: number }
  /** A sync and a feed read at the same time: the read must never skip an entry still being written. */
  | { kind: "race"; member: number; rows: Row[]; count: number };

const rowArb = fc.record({
  guid: fc.integer({ min: 0, max: 7 }),
  pending: fc.boolean(),
  amount: fc.integer({ min: 1, max: 3 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("sync" as const),
      member: fc.integer({ min: 0, max: 1 }),
      rows: fc.array(rowArb, { maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("refresh" as const),
      member: fc.integer({ min: 0, max: 1 }),
      rows: fc.array(rowArb, { maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("delete" as const), member: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("reconnect" as const), member: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("read" as const), count: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("race" as const),
      member: fc.integer({ min: 0, max: 1 }),
      // Two BatchWriteItem chunks written concurrently: entries may land out of order.
      rows: fc.array(
        fc.record({ guid: fc.integer({ min: 0, max: 39 }), pending: fc.boolean(), amount: fc.constant(1) }),
        {
          minLength: 26,
          maxLength: 60,
        },
      ),
      count: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

let runs = 0;

/** One run's world: its own user and account guids, so runs share the table without seeing each other. */
function world() {
  const id = ++runs;
  const userId = `user-${id}`;
  const member = (index: number) => `${MEMBERS[index] ?? "MBR-x"}-${id}`;
  const account = (index: number) => `${ACCOUNTS[index] ?? "ACT-x"}-${id}`;
  const transaction = (row: Row, member: number): Transaction => ({
    guid: `TRN-${id}-${row.guid}`,
    // Each member has its own account, as at MX.
    account_guid: account(member),
    member_guid: `${MEMBERS[member]}-${id}`,
    amount: row.amount,
    date: `2026-10-0${1 + (row.guid % 5)}`,
    status: row.pending ? "PENDING" : "POSTED",
  });
  return { userId, member, account, transaction };
}

/** The stored rows of the run's user, read straight from the table, as `account#guid` → row. */
async function storedRows(userId: string, accountGuids: string[]): Promise<Map<string, Transaction>> {
  const rows = new Map<string, Transaction>();
  for (const accountGuid of accountGuids) {
    const result = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": transactionsPk(accountGuid) },
        ConsistentRead: true,
      }),
    );
    for (const item of result.Items ?? []) {
      if (item.userId !== userId) continue;
      const { guid, account_guid, member_guid, amount, date, status } = item as Transaction;
      rows.set(`${accountGuid}#${guid}`, { guid, account_guid, member_guid, amount, date, status });
    }
  }
  return rows;
}

/** The app's side: applies a page to its copy, as the README's client loop does. */
function apply(copy: Map<string, Transaction>, page: TransactionsSyncPage): void {
  for (const removed of page.removed) copy.delete(`${removed.account_guid}#${removed.guid}`);
  for (const row of [...page.added, ...page.modified]) {
    const { guid, account_guid, member_guid, amount, date, status } = row;
    copy.set(`${account_guid}#${guid}`, { guid, account_guid, member_guid, amount, date, status });
  }
}

async function runSequence(ops: Op[]): Promise<void> {
  const w = world();
  const accountGuids = ACCOUNTS.map((_, index) => w.account(index));
  const connect = (member: number) =>
    stores.members.putMember({
      userId: w.userId,
      mxUserGuid: `USR-${w.userId}`,
      memberGuid: w.member(member),
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
  await connect(0);
  await connect(1);
  const copy = new Map<string, Transaction>();
  let cursor: string | undefined;
  let syncRun = 0;
  const read = async (count: number) => {
    const page = await syncTransactions({ changes: stores.changes, keys, now: () => clock.now }, w.userId, {
      count,
      ...(cursor ? { cursor } : {}),
    });
    apply(copy, page);
    cursor = page.next_cursor;
    return page;
  };
  const write = async (op: { kind: Op["kind"]; member: number; rows: Row[] }) => {
    const run = `run-${++syncRun}`;
    const rows = op.rows.map((row) => w.transaction(row, op.member));
    try {
      await stores.bankData.putTransactions(w.userId, w.member(op.member), rows, run);
      // A refresh reads a window again: the pending rows it no longer sees were posted or dropped.
      if (op.kind === "refresh") {
        await stores.bankData.removeVanishedPending(
          w.userId,
          w.member(op.member),
          "2026-10-01",
          "2026-10-05",
          run,
        );
      }
    } catch (error) {
      if (!(error instanceof MemberNotFoundError)) throw error;
    }
  };

  for (const op of ops) {
    if (op.kind === "sync" || op.kind === "refresh") await write(op);
    else if (op.kind === "delete") await stores.members.deleteMember(w.userId, w.member(op.member));
    else if (op.kind === "reconnect") await connect(op.member);
    // Mid-write the copy may lag the table (the feed waits for entries in flight); the drain below checks.
    else if (op.kind === "race") await Promise.all([write(op), read(op.count)]);
    else {
      const page = await read(op.count);
      if (!page.has_more) expect(copy).toEqual(await storedRows(w.userId, accountGuids));
    }
  }
  // Finally drain: the copy is the table.
  for (let page = await read(5); page.has_more; page = await read(5)) {}
  expect(copy).toEqual(await storedRows(w.userId, accountGuids));
}

describe("the transactions changes feed is exact", () => {
  it("applying every page in order to an empty copy gives exactly the stored rows (random sequences)", async () => {
    // Prepare / Act / Assess happen per generated sequence, inside runSequence.
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), (ops) => runSequence(ops)),
      { numRuns: Number(process.env.FEED_PROPERTY_RUNS ?? 3000) },
    );
  }, 480_000);
});

/**
 * Stores whose client holds back the BatchWriteItem that writes change entry `seq` until `release()`:
 * a writer slower than the writers after it, so the log has a hole while later entries are visible.
 */
function storesHoldingEntry(seq: number) {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_AWS.region,
    credentials: { accessKeyId: LOCAL_AWS.accessKeyId, secretAccessKey: LOCAL_AWS.secretAccessKey },
  });
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = () => {};
  const holding = new Promise<void>((resolve) => {
    reached = resolve;
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Marshalled ({S}/{N}) or not, depending on where the document client converts: accept both.
      const plain = (value: unknown) =>
        value !== null && typeof value === "object" ? Object.values(value as object)[0] : value;
      const input = args.input as {
        RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, unknown> } }[]>;
      };
      const writesEntry = Object.values(input.RequestItems ?? {})
        .flat()
        .some((request) => {
          const item = request.PutRequest?.Item;
          return plain(item?.entity) === "change" && String(plain(item?.seq)) === String(seq);
        });
      if (/^BatchWrite/.test(String(context.commandName)) && writesEntry) {
        reached();
        await held;
      }
      return next(args);
    },
    { step: "initialize" },
  );
  const doc = DynamoDBDocumentClient.from(client);
  const slow = createStores({ doc, tableName: TABLE, now: () => clock.now, sleep: async () => {} });
  return { stores: slow, release, holding };
}

describe("a reader never passes an entry still being written", () => {
  const rows = (id: string, count: number): Transaction[] =>
    Array.from({ length: count }, (_, index) => ({
      guid: `TRN-${id}-${index}`,
      account_guid: `ACT-${id}`,
      member_guid: `MBR-${id}`,
      amount: index,
      date: "2026-10-01",
      status: "POSTED",
    }));
  const setUp = async (id: string, slow: Stores) => {
    const userId = `user-${id}`;
    await slow.members.putMember({
      userId,
      mxUserGuid: `USR-${id}`,
      memberGuid: `MBR-${id}`,
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
    const first = await syncTransactions({ changes: slow.changes, keys, now: () => clock.now }, userId, {
      count: 100,
    });
    return { userId, cursor: first.next_cursor };
  };

  it("waits behind a hole in the sequence, then gives what filled it: the copy ends exact", async () => {
    // Prepare: 75 rows = 3 chunks written 4 at a time; the first chunk's entries (1..25) are held back.
    const { stores: slow, release, holding } = storesHoldingEntry(1);
    const { userId, cursor } = await setUp("hole", slow);
    const deps = { changes: slow.changes, keys, now: () => clock.now };
    const writing = slow.bankData.putTransactions(userId, "MBR-hole", rows("hole", 75), "run-1");
    await holding;
    await new Promise((resolve) => setTimeout(resolve, 200)); // the other chunks' entries land meanwhile

    // Act: read while entries 26..75 are visible and 1..25 are not; then let the writer finish and read on.
    const during = await syncTransactions(deps, userId, { cursor, count: 500 });
    release();
    await writing;
    const after = await syncTransactions(deps, userId, { cursor: during.next_cursor, count: 500 });

    // Assess: nothing was given out of order; once written, every row arrives.
    expect(during.modified).toEqual([]);
    expect(during.has_more).toBe(false);
    expect(after.modified).toHaveLength(75);
  });

  it("skips a hole whose writer died once the entries after it are older than the settle margin", async () => {
    // Prepare: the first chunk's entries are never written (its writer died after writing its rows).
    const { stores: slow, holding } = storesHoldingEntry(1);
    const { userId, cursor } = await setUp("dead", slow);
    const deps = { changes: slow.changes, keys, now: () => clock.now };
    void slow.bankData.putTransactions(userId, "MBR-dead", rows("dead", 50), "run-1");
    await holding;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = await syncTransactions(deps, userId, { cursor, count: 500 });

    // Act: a minute later the hole is taken as never filling.
    clock.now = new Date(clock.now.getTime() + 61_000);
    const later = await syncTransactions(deps, userId, { cursor: before.next_cursor, count: 500 });

    // Assess: held back at first, then the 25 entries after the hole.
    expect(before.modified).toEqual([]);
    expect(later.modified).toHaveLength(25);
  });
});

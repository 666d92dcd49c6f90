// The transactions changes feed's DynamoDB reads: what an app pays to catch up after a refresh through
// GET /v1/transactions/sync (one Query per page of the user's change log) against the way it had before,
// reading every page of every account again (listTransactions). Against dynalite, counting Query/GetItem
// calls and the read units DynamoDB reports (ReturnConsumedCapacity, asked for by a counting middleware).
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { deriveApiKeys } from "../../shared/api/oauth-state";
import { syncTransactions } from "../../shared/feed/transactions-sync";
import type { Transaction } from "../../shared/mx/schemas";
import { createStores } from "../../shared/storage/dynamo";
import { startDynamo } from "../dynamo";
import type { BenchTable } from "./table";

const USER = "bench-user";
const MEMBER = "MBR-bench";
const ACCOUNTS = ["ACT-bench-1", "ACT-bench-2"];

function transactions(count: number, round: number): Transaction[] {
  return Array.from({ length: count }, (_, index) => ({
    guid: `TRN-bench-${index}`,
    account_guid: ACCOUNTS[index % ACCOUNTS.length] ?? null,
    member_guid: MEMBER,
    amount: 10 + round,
    date: `2026-${String(1 + (index % 12)).padStart(2, "0")}-${String(1 + (index % 28)).padStart(2, "0")}`,
    description: `Purchase ${index} at a shop with a realistic name`,
    status: "POSTED",
  }));
}

export async function benchFeed(options: { rows?: number; refreshed?: number } = {}): Promise<BenchTable> {
  const rows = options.rows ?? 10_000;
  const refreshed = options.refreshed ?? 500;
  const dynamo = await startDynamo();
  try {
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    const reads = { calls: 0, units: 0 };
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName);
        const reading = /^(Query|GetItem|Scan)/.test(name);
        if (reading) (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = "TOTAL";
        const result = await next(args);
        if (reading) {
          reads.calls++;
          const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number } };
          reads.units += output.ConsumedCapacity?.CapacityUnits ?? 0;
        }
        return result;
      },
      { step: "initialize", name: "countReads" },
    );
    const stores = createStores({ doc, tableName: dynamo.tableName });
    const deps = {
      changes: stores.changes,
      keys: deriveApiKeys("bench-feed-secret-0123456789abcdef"),
      now: () => new Date(),
    };
    const measure = async <T>(act: () => Promise<T>) => {
      reads.calls = 0;
      reads.units = 0;
      const value = await act();
      return { value, calls: reads.calls, units: reads.units };
    };
    /** The app's loop: every page until has_more is false; returns the changes seen and the new cursor. */
    const pull = async (cursor?: string) => {
      let changes = 0;
      let next = cursor;
      for (;;) {
        const page = await syncTransactions(deps, USER, { count: 500, ...(next ? { cursor: next } : {}) });
        changes += page.added.length + page.modified.length + page.removed.length;
        next = page.next_cursor;
        if (!page.has_more) return { changes, cursor: next };
      }
    };
    const rereadAll = async () => {
      let count = 0;
      for (const account of ACCOUNTS) {
        let cursor: string | undefined;
        do {
          const page = await stores.bankData.listTransactions(USER, account, {
            limit: 500,
            ...(cursor ? { cursor } : {}),
          });
          count += page?.items.length ?? 0;
          cursor = page?.cursor;
        } while (cursor);
      }
      return count;
    };

    await stores.members.putMember({
      userId: USER,
      mxUserGuid: "USR-bench",
      memberGuid: MEMBER,
      institutionCode: "mxbank",
      isOauth: false,
      identify: false,
    });
    await stores.bankData.putAccounts(
      USER,
      MEMBER,
      ACCOUNTS.map((guid) => ({ guid, member_guid: MEMBER })),
    );
    const all = transactions(rows, 0);
    for (let i = 0; i < all.length; i += 1000)
      await stores.bankData.putTransactions(USER, MEMBER, all.slice(i, i + 1000), "run-1");
    // The app's first pull (no cursor), then a refresh rewriting `refreshed` rows (MX's window again).
    const first = await measure(() => pull());
    await stores.bankData.putTransactions(USER, MEMBER, transactions(refreshed, 1), "run-2");
    const feed = await measure(() => pull(first.value.cursor));
    const reread = await measure(() => rereadAll());
    const per1000 = (n: number, changes: number) => (changes === 0 ? 0 : (n * 1000) / changes);

    return {
      title: `Changes feed reads: catching up after a refresh of ${refreshed.toLocaleString("en-US")} of ${rows.toLocaleString("en-US")} rows`,
      figureLabel: "changes feed",
      baselineLabel: "re-read all",
      rows: [
        { metric: "DynamoDB read calls to catch up", figure: feed.calls, baseline: reread.calls },
        {
          metric: "read units to catch up (as DynamoDB reports them)",
          figure: feed.units,
          baseline: reread.units,
          digits: 1,
        },
        {
          metric: "read calls per 1,000 changes: catching up | the first pull (no cursor)",
          figure: per1000(feed.calls, feed.value.changes),
          baseline: per1000(first.calls, first.value.changes),
          digits: 1,
        },
        {
          metric: "read units per 1,000 changes: catching up | the first pull (no cursor)",
          figure: per1000(feed.units, feed.value.changes),
          baseline: per1000(first.units, first.value.changes),
          digits: 1,
        },
      ],
      notes: [
        `The feed saw ${feed.value.changes.toLocaleString("en-US")} changes; re-reading saw ${reread.value.toLocaleString("en-US")} rows.`,
        "Strongly consistent reads (the feed's log and snapshot) cost twice an eventually consistent read per 4 KB.",
      ],
    };
  } finally {
    await dynamo.close();
  }
}

// GET /v1/transactions/sync on the embedded stack: real syncs (the sandbox over HTTP, the synthesized
// state machine, dynalite) feed the change log; the app's copy built from the feed equals what the list
// routes serve, follows a refresh and a member's deletion, and the cursor is refused when damaged, another
// user's, for another view, or older than the change log keeps.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID, TEST_USERNAME } from "../local/sandbox/index";
import { deriveApiKeys } from "../shared/api/oauth-state";
import type { SyncStatus } from "../shared/domain/connection";
import { signFeedCursor } from "../shared/feed/cursor";
import { DEFAULT_CHANGE_RETENTION_DAYS } from "../shared/storage/dynamo";
import { type ApiWorld, newUser, startApiWorld } from "./api-fixture";

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(async () => {
  await world?.close();
});

const ENDED: SyncStatus[] = ["SYNCED", "NEEDS_USER", "FAILED", "TIMED_OUT"];

type Row = { guid: string; account_guid: string; amount?: number | null; status?: string | null };

async function syncedMember(sub: string): Promise<string> {
  const res = await world.call("CreateMember", {
    sub,
    body: {
      institution_code: "mxbank",
      credentials: [
        { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
        { guid: MXBANK_PASSWORD_GUID, value: "password" },
      ],
    },
  });
  expect(res.status, res.text).toBe(202);
  const guid = res.body.member.guid as string;
  expect((await world.waitForSync(sub, guid, ENDED)).sync.status).toBe("SYNCED");
  return guid;
}

/** The app's loop (README): apply pages in order until has_more is false; returns the calls it made. */
async function pull(sub: string, copy: Map<string, Row>, state: { cursor?: string }, count = 100) {
  let calls = 0;
  for (;;) {
    const res = await world.call("TransactionsSync", {
      sub,
      query: { count: String(count), ...(state.cursor ? { cursor: state.cursor } : {}) },
    });
    expect(res.status, res.text).toBe(200);
    calls++;
    for (const removed of res.body.removed as Row[]) copy.delete(`${removed.account_guid}#${removed.guid}`);
    for (const row of [...res.body.added, ...res.body.modified] as Row[]) {
      copy.set(`${row.account_guid}#${row.guid}`, row);
    }
    state.cursor = res.body.next_cursor;
    if (!res.body.has_more) return calls;
  }
}

/** Every transaction the list routes serve for the user, keyed as the copy is. */
async function listed(sub: string): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  const accounts = await world.call("ListAccounts", { sub });
  for (const account of accounts.body.accounts as { guid: string }[]) {
    let cursor: string | undefined;
    do {
      const page = await world.call("ListTransactions", {
        sub,
        params: { account_guid: account.guid },
        query: { limit: "500", ...(cursor ? { cursor } : {}) },
      });
      for (const row of page.body.transactions as Row[]) rows.set(`${row.account_guid}#${row.guid}`, row);
      cursor = page.body.next_cursor;
    } while (cursor);
  }
  return rows;
}

describe("GET /v1/transactions/sync", () => {
  it("builds an exact copy from nothing, follows a refresh, and removes a deleted member's rows", async () => {
    // Prepare: a synced member.
    const sub = newUser();
    const memberGuid = await syncedMember(sub);
    const copy = new Map<string, Row>();
    const state: { cursor?: string } = {};

    // Act 1: the first pull, 50 changes a page.
    const calls = await pull(sub, copy, state, 50);
    const stored = await listed(sub);

    // Assess 1: every stored transaction, over several pages.
    expect(stored.size).toBeGreaterThan(50);
    expect(calls).toBeGreaterThan(1);
    expect(new Map([...copy].map(([key, row]) => [key, row.guid]))).toEqual(
      new Map([...stored].map(([key, row]) => [key, row.guid])),
    );
    expect(copy).toEqual(stored);

    // Act 2: a refresh, then pull from the saved cursor.
    const refresh = await world.call("SyncMember", { sub, params: { member_guid: memberGuid } });
    expect(refresh.status, refresh.text).toBe(202);
    expect((await world.waitForSync(sub, memberGuid, ENDED)).sync.status).toBe("SYNCED");
    await pull(sub, copy, state);

    // Assess 2: still exactly what is stored.
    expect(copy).toEqual(await listed(sub));

    // Act 3: the member is deleted; pull again.
    const deleted = await world.call("DeleteMember", { sub, params: { member_guid: memberGuid } });
    expect(deleted.status, deleted.text).toBe(202);
    await world.stack.purge.drain();
    await pull(sub, copy, state);

    // Assess 3: the copy is empty, like the store.
    expect(copy.size).toBe(0);
  });

  it("refuses a tampered cursor (400 invalid_cursor), another user's (403) and another view's (400)", async () => {
    // Prepare: a cursor of alice's.
    const alice = newUser();
    const first = await world.call("TransactionsSync", { sub: alice });
    expect(first.status, first.text).toBe(200);
    const cursor = first.body.next_cursor as string;
    const [payload, mac] = cursor.split(".");
    const tampered = `${Buffer.from(
      Buffer.from(payload ?? "", "base64url")
        .toString("utf8")
        .replace('"s":0', '"s":1'),
    ).toString("base64url")}.${mac}`;

    // Act
    const damaged = await world.call("TransactionsSync", { sub: alice, query: { cursor: tampered } });
    const garbage = await world.call("TransactionsSync", { sub: alice, query: { cursor: "not-a-cursor" } });
    const bobs = await world.call("TransactionsSync", { sub: newUser(), query: { cursor } });
    const otherView = await world.call("TransactionsSync", {
      sub: alice,
      query: { cursor, member_guid: "MBR-11111111-2222" },
    });

    // Assess
    expect(tampered).not.toBe(cursor);
    expect([damaged.status, damaged.body.error.code]).toEqual([400, "invalid_cursor"]);
    expect([garbage.status, garbage.body.error.code]).toEqual([400, "invalid_cursor"]);
    expect([bobs.status, bobs.body.error.code]).toEqual([403, "cursor_forbidden"]);
    expect([otherView.status, otherView.body.error.code]).toEqual([400, "invalid_cursor"]);
  });

  it("answers 410 cursor_expired for a cursor older than the change log keeps, and a fresh one works", async () => {
    // Prepare: a genuine cursor (signed with the stack's key) issued just over the retention ago.
    const sub = newUser();
    const key = deriveApiKeys(world.signingSecret).changesCursor;
    const issued = Date.now() - (DEFAULT_CHANGE_RETENTION_DAYS * 86_400_000 + 1000);
    const stale = signFeedCursor(key, sub, {}, { seq: 0, since: issued });
    const fresh = signFeedCursor(key, sub, {}, { seq: 0, since: Date.now() });

    // Act
    const old = await world.call("TransactionsSync", { sub, query: { cursor: stale } });
    const current = await world.call("TransactionsSync", { sub, query: { cursor: fresh } });

    // Assess
    expect([old.status, old.body.error.code]).toEqual([410, "cursor_expired"]);
    expect(current.status, current.text).toBe(200);
  });

  it("refuses a count outside 1..500 with a 400 naming the field", async () => {
    // Act
    const big = await world.call("TransactionsSync", { sub: newUser(), query: { count: "501" } });

    // Assess
    expect(big.status).toBe(400);
    expect(big.body.error.code).toBe("invalid_request");
    expect(big.body.error.message).toContain("count");
  });
});

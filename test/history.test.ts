// Sync history, member health and the app's events, on the embedded stack (see api-fixture.ts): every run
// is recorded with its trigger and row counts, GET /v1/members/{guid}/syncs pages them newest first, and
// each end the app must hear about is published to the local EventBridge bus.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_USERNAME } from "../local/sandbox/index";
import { appEventSchema } from "../shared/events/schemas";
import { type ApiWorld, ENDED, mxbankCredentials, newUser, startApiWorld } from "./api-fixture";

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(async () => {
  await world?.close();
});

async function connect(sub: string, password = "password") {
  const res = await world.call("CreateMember", {
    sub,
    body: { institution_code: "mxbank", credentials: mxbankCredentials(password) },
  });
  expect(res.status, res.text).toBe(202);
  const guid = res.body.member.guid as string;
  return world.waitForSync(sub, guid, ENDED);
}

async function userSync(sub: string, guid: string) {
  const before = await world.call("ListSyncs", { sub, params: { member_guid: guid } });
  // MX refreshes a member at most every 3 hours: the user's refresh comes later than that.
  await world.sandbox.advanceTime(3 * 3_600_000 + 1_000);
  const res = await world.call("SyncMember", { sub, params: { member_guid: guid } });
  expect(res.status, res.text).toBe(202);
  // The run is over once its record is in the history (the member alone may still show the last run).
  for (let i = 0; i < 400; i++) {
    const now = await world.call("ListSyncs", { sub, params: { member_guid: guid } });
    if (now.body.syncs.length > before.body.syncs.length) return now.body.syncs[0];
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const member = await world.call("GetMember", { sub, params: { member_guid: guid } });
  throw new Error(`the user's sync never reached the history: ${member.text}`);
}

/** The events published for a member, parsed by the documented schema (a stray field fails the parse). */
function eventsOf(guid: string) {
  return world.stack.aws.events
    .published()
    .map((event) =>
      appEventSchema.parse({ source: event.source, "detail-type": event.detailType, detail: event.detail }),
    )
    .filter((event) => event.detail.member_guid === guid);
}

/** The member's events once `count` have arrived (Finish publishes just after it records the outcome). */
async function eventsOnceThere(guid: string, count: number) {
  for (let i = 0; i < 200 && eventsOf(guid).length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return eventsOf(guid);
}

describe("sync history", () => {
  it("records the first sync (trigger create) and a user's sync (trigger user), newest first, with rows", async () => {
    // Prepare
    const sub = newUser();
    const member = await connect(sub);
    expect(member.sync.status).toBe("SYNCED");

    // Act
    const requestsBefore = world.sandbox.stats().requests;
    await userSync(sub, member.guid);
    const requestsDuring = world.sandbox.stats().requests - requestsBefore;
    const res = await world.call("ListSyncs", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(res.status, res.text).toBe(200);
    const syncs = res.body.syncs as Record<string, unknown>[];
    expect(syncs.map((s) => s.trigger)).toEqual(["user", "create"]);
    expect(syncs.map((s) => s.outcome)).toEqual(["SYNCED", "SYNCED"]);
    // Every request MX received during the user's run was the run's (nothing else talks to MX meanwhile).
    expect(syncs[0]?.mx_calls).toBe(requestsDuring);
    expect(syncs[0]?.mx_calls).toBeGreaterThan(0);
    const counts = member.sync.counts ?? { owners: 0, accounts: 0, transactions: 0 };
    expect(syncs[1]).toMatchObject({
      rows_written: counts.owners + counts.accounts + counts.transactions,
      rows_removed: 0,
      reason: null,
    });
    for (const run of syncs) {
      expect(Date.parse(String(run.finished_at))).toBeGreaterThanOrEqual(Date.parse(String(run.started_at)));
    }
    expect(res.body.next_cursor).toBeUndefined();
  });

  it("pages the history with an opaque cursor and refuses a cursor made for another member", async () => {
    // Prepare: two runs
    const sub = newUser();
    const member = await connect(sub);
    await userSync(sub, member.guid);
    const other = await connect(sub, "another-password");

    // Act
    const first = await world.call("ListSyncs", {
      sub,
      params: { member_guid: member.guid },
      query: { limit: "1" },
    });
    const second = await world.call("ListSyncs", {
      sub,
      params: { member_guid: member.guid },
      query: { limit: "1", cursor: first.body.next_cursor },
    });
    const foreign = await world.call("ListSyncs", {
      sub,
      params: { member_guid: other.guid },
      query: { cursor: first.body.next_cursor },
    });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.syncs.map((s: { trigger: string }) => s.trigger)).toEqual(["user"]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(second.body.syncs.map((s: { trigger: string }) => s.trigger)).toEqual(["create"]);
    expect(second.body.next_cursor).toBeUndefined();
    expect(foreign.status, foreign.text).toBe(400);
    expect(foreign.body.error.code).toBe("invalid_request");
  });

  it("answers 404 for another user's member, like a missing one", async () => {
    // Prepare
    const owner = newUser();
    const member = await connect(owner);

    // Act
    const res = await world.call("ListSyncs", { sub: newUser(), params: { member_guid: member.guid } });

    // Assess
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("refuses a bad limit with a 400 naming it", async () => {
    // Act
    const res = await world.call("ListSyncs", {
      sub: newUser(),
      params: { member_guid: "MBR-1" },
      query: { limit: "1000" },
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/limit/);
  });
});

describe("member health", () => {
  it("shows consecutive failures and that the user must act, and clears them after a success", async () => {
    // Prepare + Act
    const sub = newUser();
    const denied = await connect(sub, "INVALID");
    const synced = await connect(sub);

    // Assess
    expect(denied.sync.status).toBe("NEEDS_USER");
    expect(denied.needs_user_action).toBe(true);
    expect(denied.sync.consecutive_failures).toBe(1);
    expect(denied.sync.reason).toEqual(expect.any(String));
    expect(synced.needs_user_action).toBe(false);
    expect(synced.sync.consecutive_failures).toBe(0);
  });
});

describe("events for the app", () => {
  it("publishes member.synced with counts after a sync, and member.needs_user with the reason", async () => {
    // Prepare + Act
    const sub = newUser();
    const synced = await connect(sub);
    const denied = await connect(sub, "INVALID");

    // Assess
    const counts = synced.sync.counts ?? { owners: 0, accounts: 0, transactions: 0 };
    expect(await eventsOnceThere(synced.guid, 1)).toEqual([
      {
        source: "mx-connect",
        "detail-type": "member.synced",
        detail: expect.objectContaining({
          user_id: sub,
          member_guid: synced.guid,
          trigger: "create",
          changes_available: true,
          counts: { rows_written: counts.owners + counts.accounts + counts.transactions, rows_removed: 0 },
        }),
      },
    ]);
    expect(await eventsOnceThere(denied.guid, 1)).toEqual([
      {
        source: "mx-connect",
        "detail-type": "member.needs_user",
        detail: expect.objectContaining({ connection_status: "DENIED", reason: denied.sync.reason }),
      },
    ]);
  });

  it("publishes member.deleted once the member's rows are gone, and nothing with a credential in it", async () => {
    // Prepare
    const sub = newUser();
    const member = await connect(sub);

    // Act
    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });
    await world.stack.purge.drain();

    // Assess
    expect(res.status).toBe(202);
    expect((await eventsOnceThere(member.guid, 2)).map((e) => e["detail-type"])).toEqual([
      "member.synced",
      "member.deleted",
    ]);
    expect(JSON.stringify(world.stack.aws.events.published())).not.toMatch(new RegExp(TEST_USERNAME));
  });
});

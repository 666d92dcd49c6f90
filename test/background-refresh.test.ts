// The background refresh on the embedded stack, over real HTTP (`startAll`, as `npm start` runs it): the
// sandbox aggregates in the background on its movable clock and POSTs its webhooks to the local API's
// /v1/mx/webhooks; the webhook Lambda enqueues on the local SQS; the consumer Lambda reads what changed.
// Counts are taken at the sandbox (per route) and from the table, never from a mock.
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import type { RunningAll } from "../local/start";
import { refreshQueue } from "../shared/lambda/refresh-queue";
import { collectAll } from "../shared/mx/pages";
import type { Transaction } from "../shared/mx/schemas";
import { continueSweep, startSweep } from "../shared/refresh/sweep";
import { sweepLeaseKey } from "../shared/storage/keys";
import {
  type ApiClient,
  clientFor,
  createCredentialMember,
  startE2e,
  waitForChallenge,
  waitForSync,
} from "./fixtures/e2e";

const DAY_MS = 86_400_000;
const MEMBER_ROUTE = "/users/{user_guid}/members/{member_guid}";
const AGGREGATE = `POST ${MEMBER_ROUTE}/aggregate`;
const IDENTIFY = `POST ${MEMBER_ROUTE}/identify`;
const EXTEND_HISTORY = `POST ${MEMBER_ROUTE}/extend_history`;
const ACCOUNTS = `GET ${MEMBER_ROUTE}/accounts`;

let app: RunningAll;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  app = await startE2e();
});
afterAll(async () => {
  await app?.close();
});
afterEach(async () => {
  // Each test's member goes (here and at MX): the next clock move aggregates only the next test's member.
  for (const cleanup of cleanups.splice(0)) await cleanup();
  app.stack.sandbox?.setKnobs({
    webhooks: { dropRate: 0, duplicateRate: 0, outOfOrder: false, nulls: false, unknownField: false },
    backgroundAggregationIntervalMs: DAY_MS,
  });
  await app.stack.refresh.drain();
});

const sandbox = () => {
  const found = app.stack.sandbox;
  if (!found) throw new Error("the embedded stack runs without the sandbox");
  return found;
};
const routeCount = (route: string) => sandbox().stats().byRoute[route] ?? 0;

/** A synced credential member (or MFA member: `mfa`), its MX user guid, and the queue drained. */
async function syncedMember(password = "password") {
  const api = await clientFor(app);
  const created = await createCredentialMember(api, password);
  cleanups.push(() => api.delete(`/v1/members/${created.guid}`));
  let member = password === "challenge" ? await waitForChallenge(api, created.guid) : undefined;
  if (member?.challenges_waiting) {
    const prompts = await api.challenges(created.guid);
    await api.answerChallenges(
      created.guid,
      prompts.map((prompt) => ({ guid: prompt.guid, value: CORRECT_ANSWER })),
    );
  }
  member = await waitForSync(api, created.guid);
  expect(member.sync.status).toBe("SYNCED");
  // The foreground aggregation's own webhook: handled (nothing new) before the test acts.
  await app.stack.refresh.drain();
  const record = await app.stack.stores.members.getMember(api.userId, created.guid);
  if (!record) throw new Error("member not stored");
  return { api, guid: created.guid, mxUserGuid: record.mxUserGuid };
}

/** Every transaction stored for the user, by guid. */
async function stored(api: ApiClient): Promise<Map<string, Transaction>> {
  const { bankData } = app.stack.stores;
  const rows = new Map<string, Transaction>();
  for (const account of await bankData.listAccounts(api.userId)) {
    let cursor: string | undefined;
    do {
      const page = await bankData.listTransactions(api.userId, account.guid, {
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const row of page?.items ?? []) rows.set(row.guid, row);
      cursor = page?.cursor;
    } while (cursor);
  }
  return rows;
}

/** Every transaction MX holds for the member (its whole visible history). */
async function atMx(mxUserGuid: string, guid: string): Promise<string[]> {
  const all = await collectAll((page) =>
    app.stack.mx.listTransactions(mxUserGuid, guid, { fromDate: "2000-01-01", toDate: "2100-01-01", page }),
  );
  return all.map((t) => t.guid).sort();
}

/**
 * What the app must see after a refresh: every transaction MX reports is stored, and no stored pending row
 * is one MX no longer reports (its posted twin would show twice). Older posted rows that fell out of MX's
 * history window stay stored, on purpose.
 */
async function expectUpToDate(api: ApiClient, mxUserGuid: string, guid: string) {
  const rows = await stored(api);
  const mx = new Set(await atMx(mxUserGuid, guid));
  expect([...mx].filter((g) => !rows.has(g))).toEqual([]);
  expect([...rows.values()].filter((t) => t.status === "PENDING" && !mx.has(t.guid))).toEqual([]);
  return rows;
}

const dataAsOf = async (api: ApiClient, guid: string) =>
  (await app.stack.stores.members.getMember(api.userId, guid))?.sync.dataAsOf;

describe("a webhook from MX's background aggregation", () => {
  it("stores the day's new rows, moves dataAsOf, records the run and tells the app, without asking MX to aggregate", async () => {
    // Prepare (MX sends nulls, e.g. user_id, and fields we do not know)
    const { api, guid, mxUserGuid } = await syncedMember();
    const before = await stored(api);
    const aggregates = routeCount(AGGREGATE);
    sandbox().setKnobs({ webhooks: { nulls: true, unknownField: true } });
    let feed = await api.transactionChanges({ memberGuid: guid, count: 500 });
    while (feed.has_more)
      feed = await api.transactionChanges({ cursor: feed.next_cursor, memberGuid: guid, count: 500 });

    // Act
    await sandbox().advanceTime(DAY_MS + 60_000);
    await app.stack.refresh.drain();

    // Assess
    const after = await expectUpToDate(api, mxUserGuid, guid);
    const status = await app.stack.mx.readMemberStatus(mxUserGuid, guid);
    expect([...after.keys()].filter((g) => !before.has(g)).length).toBeGreaterThan(0);
    expect(await dataAsOf(api, guid)).toBe(status.successfully_aggregated_at);
    expect(routeCount(AGGREGATE)).toBe(aggregates);
    const runs = await app.stack.stores.history.listRuns(api.userId, guid, { limit: 10 });
    expect(runs.runs[0]).toMatchObject({
      trigger: "webhook",
      outcome: "SYNCED",
      mxCalls: expect.any(Number),
    });
    // Each transaction is written once, though the updated-since read and the pending days overlap: the
    // run's transaction writes equal the distinct rows the changes feed reports for it.
    const changes = await api.transactionChanges({ cursor: feed.next_cursor, memberGuid: guid, count: 500 });
    const accounts = (await app.stack.stores.bankData.listAccounts(api.userId)).length;
    const owners = (await app.stack.stores.bankData.listAccountOwners(api.userId, guid)).length;
    expect((runs.runs[0]?.rows.written ?? 0) - accounts - owners).toBe(
      changes.modified.length + changes.added.length,
    );
    const synced = app.stack.aws.events
      .published()
      .filter(
        (e) =>
          e.detailType === "member.synced" && (e.detail as { member_guid?: string }).member_guid === guid,
      );
    expect(synced.at(-1)?.detail).toMatchObject({ trigger: "webhook", changes_available: true });
  });
});

describe("with every webhook lost", () => {
  it("the sweep finds the new data", async () => {
    // Prepare
    const { api, guid, mxUserGuid } = await syncedMember();
    const before = await stored(api);
    sandbox().setKnobs({ webhooks: { dropRate: 1 } });
    await sandbox().advanceTime(DAY_MS + 60_000);
    await app.stack.refresh.drain();
    const withoutWebhook = await stored(api);

    // Act
    await app.stack.refresh.sweep();
    await app.stack.refresh.drain();

    // Assess
    expect([...withoutWebhook.keys()].sort()).toEqual([...before.keys()].sort());
    const after = await expectUpToDate(api, mxUserGuid, guid);
    expect([...after.keys()].some((g) => !before.has(g))).toBe(true);
  });
});

describe("a webhook delivered twice and out of order", () => {
  it("starts one read and stores each row once", async () => {
    // Prepare (two days of background aggregation: their webhooks go out together, newest first, twice)
    const { api, guid, mxUserGuid } = await syncedMember();
    sandbox().setKnobs({ webhooks: { duplicateRate: 1, outOfOrder: true } });
    const accountReads = routeCount(ACCOUNTS);

    // Act
    await sandbox().advanceTime(2 * DAY_MS + 60_000);
    await app.stack.refresh.drain();

    // Assess
    const delivered = sandbox()
      .webhooks()
      .filter((w) => w.payload.member_guid === guid && w.state === "delivered" && w.createdAt > 0);
    expect(delivered.length).toBeGreaterThanOrEqual(4);
    expect(routeCount(ACCOUNTS) - accountReads).toBe(1);
    await expectUpToDate(api, mxUserGuid, guid);
  });
});

describe("an MFA member", () => {
  it("is refreshed in the background with no challenge and no aggregate, identify or extend_history", async () => {
    // Prepare
    const { api, guid, mxUserGuid } = await syncedMember("challenge");
    const asked = [AGGREGATE, IDENTIFY, EXTEND_HISTORY].map(routeCount);
    const before = await stored(api);

    // Act
    await sandbox().advanceTime(DAY_MS + 60_000);
    await app.stack.refresh.drain();

    // Assess
    expect([AGGREGATE, IDENTIFY, EXTEND_HISTORY].map(routeCount)).toEqual(asked);
    const member = await api.getMember(guid);
    expect(member.connection_status).toBe("CONNECTED");
    expect(member.challenges_waiting).toBe(false);
    expect(member.sync.status).toBe("SYNCED");
    const after = await expectUpToDate(api, mxUserGuid, guid);
    expect([...after.keys()].some((g) => !before.has(g))).toBe(true);
  });
});

describe("two sweeps at once (an overlapping schedule)", () => {
  it("read the member's new data once", async () => {
    // Prepare (no webhook: only the sweeps find it)
    const { api, guid, mxUserGuid } = await syncedMember();
    sandbox().setKnobs({ webhooks: { dropRate: 1 } });
    await sandbox().advanceTime(DAY_MS + 60_000);
    await app.stack.refresh.drain();
    const accountReads = routeCount(ACCOUNTS);

    // Act
    await Promise.all([app.stack.refresh.sweep(), app.stack.refresh.sweep()]);
    await app.stack.refresh.drain();

    // Assess
    expect(routeCount(ACCOUNTS) - accountReads).toBe(1);
    await expectUpToDate(api, mxUserGuid, guid);
  });
});

describe("a scheduled sweep while the previous sweep still runs", () => {
  it("enqueues nothing; once that sweep's last pass ends, the next sweep runs", async () => {
    // Prepare: a synced member, and a sweep between two of its passes
    await syncedMember();
    const queueName = app.stack.refresh.queueName;
    expect(await app.stack.stores.sweeps.acquire("sweep-running", 3600)).toMatchObject({ acquired: true });
    const sent = app.stack.aws.sqs.sentCount(queueName);
    const statusChecks = sandbox().stats().requests;

    // Act: the schedule fires
    const skipped = await app.stack.refresh.sweep();
    await app.stack.refresh.drain();

    // Assess: nothing enqueued, nothing asked of MX
    expect(skipped).toMatchObject({ started: false, enqueued: 0 });
    expect(app.stack.aws.sqs.sentCount(queueName)).toBe(sent);
    expect(sandbox().stats().requests).toBe(statusChecks);

    // Act: the running sweep's last pass (its continuation, carrying its id) arrives, then the schedule fires
    await refreshQueue(app.stack.env.REFRESH_QUEUE_URL ?? "").send([
      { message: { kind: "sweep", sweep: { id: "sweep-running", membersPerSecond: 20, enqueued: 0 } } },
    ]);
    await app.stack.refresh.drain();
    const next = await app.stack.refresh.sweep();
    await app.stack.refresh.drain();

    // Assess: the running sweep's pass enqueued the member (one status check) and released the lease; the
    // next sweep started and enqueued it again
    expect(app.stack.aws.sqs.sentCount(queueName) - sent).toBe(3);
    expect(sandbox().stats().requests - statusChecks).toBe(2);
    expect(next).toMatchObject({ started: true, enqueued: 1, more: false });
  });
});

describe("the sweep's pace", () => {
  /** A fresh table with `members` synced members and, when given, a previous sweep that swept `lastCount`. */
  async function tableAfterSweep(lastCount: number | undefined, members = 2) {
    const stores = await app.stack.freshStores();
    if (lastCount !== undefined) {
      await stores.sweeps.acquire("previous", 3600);
      await stores.sweeps.release("previous", lastCount);
    }
    for (let i = 0; i < members; i++) {
      const memberGuid = `MBR-pace-${i}`;
      await stores.members.putMember({
        userId: `user-${i}`,
        mxUserGuid: `USR-${i}`,
        memberGuid,
        institutionCode: "mxbank",
        isOauth: false,
        identify: false,
      });
      await stores.members.acquireSyncLease(`user-${i}`, memberGuid, "run-1", 60_000);
      await stores.members.finishSync(`user-${i}`, memberGuid, "run-1", { outcome: "SYNCED" });
    }
    return stores;
  }
  /** A queue of the local SQS nobody consumes: the sweep's enqueue plan stays there to be read. */
  let plans = 0;
  function planQueue() {
    const name = `sweep-plan-${++plans}`;
    return { name, queue: refreshQueue(app.stack.aws.sqs.createQueue(name)) };
  }

  it("is derived from the previous sweep's count: 75 % of the cadence, between the floor and the consumer's cap", async () => {
    // Prepare: previous counts and cadences → the pace a sweep must keep (members a second)
    const cases: [number | undefined, number, number][] = [
      [undefined, 6, 20], // the first sweep: the floor
      [100_000, 6, 20], // 100,000 / (6 h × 0.75) = 6.2: the floor
      [500_000, 6, 31], // 500,000 / 16,200 s = 30.9
      [1_000_000, 6, 40], // 61.7 wanted: capped at what the consumer absorbs
      [1_000_000, 24, 20], // 15.4: the floor
    ];
    for (const [lastCount, everyHours, pace] of cases) {
      const stores = await tableAfterSweep(lastCount);
      const { name, queue } = planQueue();

      // Act
      const started = await startSweep({ ...stores, queue }, { sweepId: "next", everyHours });

      // Assess: the pace, the members enqueued, the lease free again with this sweep's count
      expect(started, `after ${lastCount} at ${everyHours} h`).toMatchObject({
        started: true,
        membersPerSecond: pace,
        enqueued: 2,
      });
      expect(app.stack.aws.sqs.messages(name)).toHaveLength(2);
      expect(await stores.sweeps.acquire("after", 3600)).toEqual({ acquired: true, lastCount: 2 });
    }
  });

  it("a pass that does not reach the end enqueues its continuation, carrying the sweep's id, pace and count", async () => {
    // Prepare: 5 members, 2 a pass
    const stores = await tableAfterSweep(undefined, 5);
    const { name, queue } = planQueue();

    // Act
    const started = await startSweep(
      { ...stores, queue },
      { sweepId: "next", everyHours: 6 },
      { passMembers: 2 },
    );

    // Assess
    expect(started).toMatchObject({ started: true, membersPerSecond: 20, enqueued: 2 });
    const bodies = app.stack.aws.sqs.messages(name).map((m) => JSON.parse(m.body) as Record<string, unknown>);
    expect(bodies.filter((b) => b.kind === "member")).toHaveLength(2);
    expect(bodies.filter((b) => b.kind === "sweep")).toEqual([
      {
        kind: "sweep",
        cursor: started.started ? started.cursor : "",
        sweep: { id: "next", membersPerSecond: 20, enqueued: 2 },
      },
    ]);
    // The sweep still runs: a scheduled start now does nothing
    expect(await startSweep({ ...stores, queue }, { sweepId: "other", everyHours: 6 })).toEqual({
      started: false,
      runningSweep: "next",
    });
  });

  it("a continuation whose lease a newer sweep took enqueues nothing", async () => {
    // Prepare: the old sweep's lease expired and a newer sweep holds it
    const stores = await tableAfterSweep(undefined);
    await stores.sweeps.acquire("newer", 3600);
    const { name, queue } = planQueue();

    // Act
    const pass = await continueSweep(
      { ...stores, queue },
      { sweep: { id: "older", membersPerSecond: 20, enqueued: 18_000 } },
    );

    // Assess
    expect(pass).toEqual({ enqueued: 0, superseded: true });
    expect(app.stack.aws.sqs.messages(name)).toHaveLength(0);
  });
});

describe("a member that keeps failing", () => {
  it("is retried alone and lands in the dead-letter queue; the other member of its batch is read once", async () => {
    // Prepare: two members; one is gone at MX (its status read answers 404 on every try).
    const good = await syncedMember();
    const bad = await syncedMember();
    await app.stack.mx.deleteMember(bad.mxUserGuid, bad.guid);
    sandbox().setKnobs({ webhooks: { dropRate: 1 } });
    await sandbox().advanceTime(DAY_MS + 60_000);
    await app.stack.refresh.drain();
    const accountReads = routeCount(ACCOUNTS);

    // Act: one sweep puts both on the queue
    await app.stack.refresh.sweep();
    await app.stack.refresh.drain();

    // Assess
    expect(routeCount(ACCOUNTS) - accountReads).toBe(1);
    await expectUpToDate(good.api, good.mxUserGuid, good.guid);
    const dead = app.stack.aws.sqs
      .messages(app.stack.refresh.deadLetterQueueName)
      .map((m) => JSON.parse(m.body) as { memberGuid?: string });
    expect(dead.map((m) => m.memberGuid)).toEqual([bad.guid]);
  });
});

describe("a member with nothing new", () => {
  it("costs one MX call and no write", async () => {
    // Prepare
    await syncedMember();
    const scan = async () =>
      (await app.stack.dynamo.client.send(new ScanCommand({ TableName: app.stack.env.TABLE_NAME }))).Items ??
      [];
    const table = await scan();
    const requests = sandbox().stats().requests;

    // Act (the sweep enqueues it; the consumer checks MX's status)
    await app.stack.refresh.sweep();
    await app.stack.refresh.drain();

    // Assess
    expect(sandbox().stats().requests - requests).toBe(1);
    // The sweep's own lease item records its count; the member's items are untouched.
    const memberItems = (items: typeof table) => items.filter((item) => item.pk?.S !== sweepLeaseKey().pk);
    expect(memberItems(await scan())).toEqual(memberItems(table));
  });
});

describe("a pending row MX drops", () => {
  it("is removed by the background read that no longer sees it, though it is older than 14 days", async () => {
    // Prepare (MX aggregates again only 20 days later: the pending rows are 20 days old by then)
    sandbox().setKnobs({ backgroundAggregationIntervalMs: 20 * DAY_MS });
    const { api, guid, mxUserGuid } = await syncedMember();
    const pending = [...(await stored(api)).values()].filter((t) => t.status === "PENDING");
    expect(pending.length).toBeGreaterThan(0);

    // Act
    await sandbox().advanceTime(20 * DAY_MS + 60_000);
    await app.stack.refresh.drain();

    // Assess
    const now = sandbox().clock.now();
    for (const row of pending) expect(Date.parse(row.date ?? "")).toBeLessThan(now - 14 * DAY_MS);
    const after = await expectUpToDate(api, mxUserGuid, guid);
    expect(pending.filter((row) => after.has(row.guid))).toEqual([]);
  });
});

describe("POST /v1/mx/webhooks", () => {
  const webhookBody = (guid: string) =>
    JSON.stringify({
      action: "member_data_updated",
      type: "AGGREGATION",
      member_guid: guid,
      user_guid: "USR-x",
    });
  const post = (body: string, authorization?: string) =>
    fetch(`${app.apiUrl}/v1/mx/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body,
    });
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  it("refuses a forged or unauthenticated webhook with 401 JSON and enqueues nothing", async () => {
    // Prepare
    const queue = app.stack.refresh.queueName;
    const sent = app.stack.aws.sqs.sentCount(queue);
    const secret = JSON.parse(app.stack.aws.readSecret(app.stack.env.WEBHOOK_SECRET_ID ?? "") ?? "{}");

    // Act
    const none = await post(webhookBody("MBR-forged"));
    const forged = await post(webhookBody("MBR-forged"), basic(secret.username, `${secret.password}x`));
    const wrongUser = await post(webhookBody("MBR-forged"), basic("mx", secret.password));

    // Assess
    for (const res of [none, forged, wrongUser]) {
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    expect(app.stack.aws.sqs.sentCount(queue)).toBe(sent);
  });

  it("answers 204 to a type it does not handle and enqueues nothing", async () => {
    // Prepare
    const queue = app.stack.refresh.queueName;
    const sent = app.stack.aws.sqs.sentCount(queue);
    const secret = JSON.parse(app.stack.aws.readSecret(app.stack.env.WEBHOOK_SECRET_ID ?? "") ?? "{}");

    // Act
    const res = await post(
      JSON.stringify({ type: "SOMETHING_NEW", member_guid: "MBR-1", extra: null }),
      basic(secret.username, secret.password),
    );

    // Assess
    expect(res.status).toBe(204);
    expect(app.stack.aws.sqs.sentCount(queue)).toBe(sent);
  });
});

// End to end over HTTP, as a client app: `startAll()` (the API, the MX sandbox, dynalite and the local
// workflow, as `npm start` runs them), a dev-issuer token, and each sync outcome seen through the API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TransactionsPage } from "../local/client";
import type { RunningAll } from "../local/start";
import type { MemberView } from "../shared/api/schemas";
import {
  type ApiClient,
  clientFor,
  createCredentialMember,
  startE2e,
  waitForChallenge,
  waitForSync,
} from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e();
});
afterAll(async () => {
  await app?.close();
});

describe("institutions", () => {
  it("searches by name and lists an institution's credential fields", async () => {
    // Prepare
    const api = await clientFor(app);

    // Act
    const search = await api.get("/v1/institutions?name=mx%20bank");
    const fields = await api.get("/v1/institutions/mxbank/credentials");
    const unknown = await api.get("/v1/institutions/no_such_bank/credentials");

    // Assess
    expect(search.status).toBe(200);
    const codes = (search.body.institutions as { code: string }[]).map((i) => i.code);
    expect(codes).toEqual(expect.arrayContaining(["mxbank", "mx_bank_oauth"]));
    expect(search.body.pagination.total_entries).toBeGreaterThanOrEqual(2);
    expect(fields.status).toBe(200);
    expect((fields.body.credentials as { field_name: string }[]).map((f) => f.field_name)).toEqual([
      "LOGIN",
      "PASSWORD",
    ]);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
  });
});

describe("a credential member", () => {
  let api: ApiClient;
  let synced: MemberView;

  // Prepare (shared by this block: one synced member, read by each test)
  beforeAll(async () => {
    api = await clientFor(app);
    const member = await createCredentialMember(api, "password", { identify: true });
    synced = await waitForSync(api, member.guid);
  });

  it("syncs to SYNCED with counts, a last_synced_at and no reason", () => {
    // Assess (the sync ran in beforeAll)
    expect(synced.sync.status).toBe("SYNCED");
    expect(synced.connection_status).toBe("CONNECTED");
    expect(synced.sync.counts?.accounts).toBeGreaterThan(0);
    expect(synced.sync.counts?.owners).toBeGreaterThan(0);
    expect(synced.sync.counts?.transactions).toBeGreaterThan(0);
    expect(synced.sync.last_synced_at).toEqual(expect.any(String));
    expect(synced.sync.reason).toBeNull();
  });

  it("lists the member among the user's members", async () => {
    // Act
    const res = await api.get("/v1/members");

    // Assess
    expect(res.status).toBe(200);
    expect(res.body.members.map((m: { guid: string }) => m.guid)).toEqual([synced.guid]);
  });

  it("answers a retried identical create with the same member, not a second one", async () => {
    // Act
    const again = await createCredentialMember(api, "password", { identify: true });

    // Assess
    expect(again.guid).toBe(synced.guid);
    expect((await api.get("/v1/members")).body.members).toHaveLength(1);
  });

  it("serves the stored owners, accounts and every transaction, newest first, page by page", async () => {
    // Act: every page of 40 (a page answering other than 200, or a cursor still there after 100 pages,
    // throws from the client's paging).
    const owners = await api.get(`/v1/members/${synced.guid}/owners`);
    const accounts = await api.get("/v1/accounts");
    const datesByAccount = new Map<string, TransactionsPage["transactions"]>();
    for (const account of accounts.body.accounts as { guid: string }[]) {
      const rows: TransactionsPage["transactions"] = [];
      for await (const page of api.transactionPages(account.guid, { limit: 40, maxPages: 100 })) {
        rows.push(...page.transactions);
      }
      datesByAccount.set(account.guid, rows);
    }

    // Assess
    expect(owners.status).toBe(200);
    expect(owners.body.account_owners).toHaveLength(synced.sync.counts?.owners ?? -1);
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts).toHaveLength(synced.sync.counts?.accounts ?? -1);
    let total = 0;
    for (const [accountGuid, rows] of datesByAccount) {
      for (const trn of rows) expect(trn.account_guid).toBe(accountGuid);
      const dates = rows.map((trn) => trn.date ?? "");
      expect(dates).toEqual([...dates].sort().reverse());
      total += dates.length;
    }
    expect(total).toBe(synced.sync.counts?.transactions);
  });

  it("filters transactions by date", async () => {
    // Prepare
    const accounts = await api.get("/v1/accounts");
    const account = accounts.body.accounts[0] as { guid: string };
    const all = await api.get(`/v1/accounts/${account.guid}/transactions?limit=500`);
    const dates = (all.body.transactions as { date: string }[]).map((t) => t.date);
    const middle = dates[Math.floor(dates.length / 2)] ?? "";

    // Act
    const res = await api.get(`/v1/accounts/${account.guid}/transactions?to=${middle}&limit=500`);

    // Assess
    expect(res.status).toBe(200);
    expect(res.body.transactions.length).toBeGreaterThan(0);
    expect((res.body.transactions as { date: string }[]).every((t) => t.date <= middle)).toBe(true);
  });

  it("refreshes on request: 202, and the member syncs again", async () => {
    // Prepare: as at MX, an aggregation within 3 hours of the last success runs nothing.
    await pastMinAggregationInterval();

    // Act
    const res = await api.post(`/v1/members/${synced.guid}/sync`);

    // Assess
    expect(res.status, res.text).toBe(202);
    const again = await waitForSyncAfter(api, synced.guid, synced.sync.finished_at ?? "");
    expect(again.sync.status).toBe("SYNCED");
    expect((again.sync.last_synced_at ?? "") >= (synced.sync.last_synced_at ?? "")).toBe(true);
  });

  it("never shows the credentials it was given", async () => {
    // Act
    const everything = [
      await api.get("/v1/members"),
      await api.get(`/v1/members/${synced.guid}`),
      await api.get(`/v1/members/${synced.guid}/challenges`),
    ];

    // Assess
    for (const res of everything) expect(res.text).not.toContain("password");
  });
});

/** How many workflow runs were started for the member so far (the local Step Functions' own list). */
function runsOf(memberGuid: string): number {
  const { executions } = app.stack.workflow.stepFunctions.listExecutions({
    stateMachineArn: app.stack.workflow.stateMachineArn,
    maxResults: 1000,
  });
  return executions.filter((e) => e.name.startsWith(`${memberGuid}-`)).length;
}

/** Waits for a run that finished after `previousFinishedAt`. */
/** Moves MX's clock past its minimum interval between aggregations (the 3-hour rule), so a refresh runs. */
async function pastMinAggregationInterval(): Promise<void> {
  const sandbox = app.stack.sandbox;
  if (!sandbox) throw new Error("the e2e stack runs on the sandbox");
  await sandbox.clock.advance(sandbox.knobs.minAggregationIntervalMs + 1_000);
}

async function waitForSyncAfter(api: ApiClient, guid: string, previousFinishedAt: string) {
  for (let poll = 0; poll < 400; poll++) {
    const member = await waitForSync(api, guid);
    if (member.sync.finished_at && member.sync.finished_at > previousFinishedAt) return member;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no new sync finished for ${guid}`);
}

describe("refresh on request", () => {
  it("two calls at once start one run", async () => {
    // Prepare: a synced member never refreshed. Run names collapse per 10 s window: stay clear of a
    // window's edge so both calls share one (the lease covers calls further apart).
    const api = await clientFor(app);
    const member = await waitForSync(api, (await createCredentialMember(api, "password")).guid);
    await pastMinAggregationInterval();
    const intoWindow = Date.now() % 10_000;
    if (intoWindow > 8_000) await new Promise((resolve) => setTimeout(resolve, 10_050 - intoWindow));
    const before = runsOf(member.guid);

    // Act
    const replies = await Promise.all([
      api.post(`/v1/members/${member.guid}/sync`),
      api.post(`/v1/members/${member.guid}/sync`),
    ]);

    // Assess
    expect(replies.map((r) => r.status)).toEqual([202, 202]);
    const after = await waitForSyncAfter(api, member.guid, member.sync.finished_at ?? "");
    expect(after.sync.status).toBe("SYNCED");
    expect(runsOf(member.guid) - before).toBe(1);
  });

  it("while a run holds the member, another call starts nothing", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    await waitForChallenge(api, member.guid);
    const before = runsOf(member.guid);

    // Act
    const res = await api.post(`/v1/members/${member.guid}/sync`);

    // Assess
    expect(res.status).toBe(202);
    expect(res.body.member.sync.status).toBe("CHALLENGED");
    expect(runsOf(member.guid)).toBe(before);
  });
});

describe("MFA answered through the API", () => {
  it("CHALLENGED → the app reads the prompt, POSTs the answer (202) → SYNCED", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    const challenged = await waitForChallenge(api, member.guid);
    expect(challenged.sync.status).toBe("CHALLENGED");
    expect(challenged.challenges_waiting).toBe(true);
    const prompts = await api.get(`/v1/members/${member.guid}/challenges`);
    expect(prompts.status).toBe(200);
    expect(prompts.body.challenges.length).toBeGreaterThan(0);

    // Act
    const answered = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: (prompts.body.challenges as { guid: string }[]).map((c) => ({
        guid: c.guid,
        value: "correct",
      })),
    });

    // Assess
    expect(answered.status, answered.text).toBe(202);
    expect(answered.text).not.toContain("correct");
    const done = await waitForSync(api, member.guid);
    expect(done.sync.status).toBe("SYNCED");
    expect(done.challenges_waiting).toBe(false);
    expect(done.sync.counts?.transactions).toBeGreaterThan(0);
  });

  it("a wrong answer ends NEEDS_USER with a reason", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    await waitForChallenge(api, member.guid);
    const prompts = await api.get(`/v1/members/${member.guid}/challenges`);

    // Act
    const answered = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: (prompts.body.challenges as { guid: string }[]).map((c) => ({
        guid: c.guid,
        value: "wrong",
      })),
    });

    // Assess
    expect(answered.status, answered.text).toBe(202);
    const done = await waitForSync(api, member.guid);
    expect(done.sync.status).toBe("NEEDS_USER");
    expect(done.connection_status).toBe("REJECTED");
    expect(done.sync.reason).toEqual(expect.any(String));
  });

  it("answering when no challenge waits is a 409, not a crash", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "password");
    await waitForSync(api, member.guid);

    // Act
    const res = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: [{ guid: "CRD-1ec152cd-e628-e81a-e852-d1e7104624da", value: "correct" }],
    });

    // Assess
    expect(res.status).toBe(409);
    expect(res.body.error.code).toEqual(expect.any(String));
  });
});

describe("outcomes that need the user or end the connection", () => {
  it.each([
    { password: "INVALID", status: "NEEDS_USER", connection: "DENIED" },
    { password: "LOCKED", status: "NEEDS_USER", connection: "LOCKED" },
    { password: "SERVER_ERROR", status: "FAILED", connection: "FAILED" },
  ])("password $password → $status ($connection) with a reason", async ({ password, status, connection }) => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, password);

    // Act
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(done.sync.status).toBe(status);
    expect(done.connection_status).toBe(connection);
    expect(done.sync.reason).toEqual(expect.any(String));
    expect(done.sync.last_synced_at).toBeNull();
  });
});

describe("deleting a member", () => {
  it("removes it and every stored row: the member, its owners and its accounts answer 404 or empty", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "password");
    await waitForSync(api, member.guid);
    const accounts = (await api.get("/v1/accounts")).body.accounts as { guid: string }[];
    expect(accounts.length).toBeGreaterThan(0);

    // Act: 202 and deleting at once; the client then waits for the background purge (GET → 404).
    const deleting = await api.deleteMember(member.guid);

    // Assess
    expect(deleting.deleting).toBe(true);
    expect((await api.get(`/v1/members/${member.guid}`)).status).toBe(404);
    expect((await api.get("/v1/members")).body.members).toEqual([]);
    expect((await api.get("/v1/accounts")).body.accounts).toEqual([]);
    expect((await api.get(`/v1/accounts/${accounts[0]?.guid}/transactions`)).status).toBe(404);
  });
});

// The Connect API's routes, handler by handler: real handler modules invoked with API Gateway v2 events
// against the MX sandbox and dynalite (see api-fixture.ts). Covers each route's answer, the idempotent
// create, the one-run-at-a-time refresh, delete, the MFA answer, and another user's guids answering 404.
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CORRECT_ANSWER,
  MXBANK_PASSWORD_GUID,
  MXBANK_USERNAME_GUID,
  TEST_USERNAME,
} from "../local/sandbox/index";
import { createMxClient, type MxClient } from "../shared/mx/client";
import { createStores, type Stores } from "../shared/storage/dynamo";
import { type ApiWorld, newUser, startApiWorld } from "./api-fixture";

let world: ApiWorld;
let mx: MxClient;
let stores: Stores;

beforeAll(async () => {
  world = await startApiWorld();
  mx = createMxClient({
    baseUrl: world.sandbox.url,
    credentials: { clientId: world.sandbox.clientId, apiKey: world.sandbox.apiKey },
  });
  stores = createStores({
    doc: DynamoDBDocumentClient.from(world.dynamo.client),
    tableName: world.dynamo.tableName,
  });
});
afterAll(async () => {
  await world?.close();
});

const credentials = (password: string) => [
  { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
  { guid: MXBANK_PASSWORD_GUID, value: password },
];

async function connect(sub: string, password = "password") {
  const res = await world.call("CreateMember", {
    sub,
    body: { institution_code: "mxbank", credentials: credentials(password) },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as { guid: string; sync: { status: string } };
}

/** Stores what the sync workflow would: the member's accounts, owners and transactions from MX. */
async function storeMemberData(sub: string, memberGuid: string) {
  const member = await stores.members.getMember(sub, memberGuid);
  if (!member) throw new Error("member not stored");
  for (
    let i = 0;
    i < 100 && (await mx.readMemberStatus(member.mxUserGuid, memberGuid)).is_being_aggregated;
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const accounts = await mx.listAccounts(member.mxUserGuid, memberGuid);
  await stores.bankData.putAccounts(sub, memberGuid, accounts.items);
  const owners = await mx.listAccountOwners(member.mxUserGuid, memberGuid);
  await stores.bankData.putAccountOwners(sub, memberGuid, owners.items);
  const transactions = await mx.listTransactions(member.mxUserGuid, memberGuid, {
    fromDate: "2000-01-01",
    toDate: "2100-01-01",
  });
  await stores.bankData.putTransactions(sub, memberGuid, transactions.items, "test-run");
  return { accounts: accounts.items, owners: owners.items, transactions: transactions.items };
}

describe("institutions", () => {
  it("searches by name and lists an institution's credential fields", async () => {
    // Act
    const search = await world.call("SearchInstitutions", { query: { name: "mx" } });
    const fields = await world.call("ListCredentials", { params: { institution_code: "mxbank" } });

    // Assess
    expect(search.status).toBe(200);
    expect(search.body.institutions.map((i: { code: string }) => i.code)).toContain("mxbank");
    expect(search.body.pagination.current_page).toBe(1);
    expect(fields.status).toBe(200);
    expect(fields.body.credentials.map((c: { guid: string }) => c.guid)).toEqual([
      MXBANK_USERNAME_GUID,
      MXBANK_PASSWORD_GUID,
    ]);
  });

  it("answers 404 for an unknown institution's credentials", async () => {
    const res = await world.call("ListCredentials", { params: { institution_code: "no_such_bank" } });

    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});

describe("POST /v1/members", () => {
  it("creates a credential member, starts its first sync, and returns 202 with its status", async () => {
    // Prepare
    const sub = newUser();

    // Act
    const member = await connect(sub);

    // Assess
    expect(member.guid).toMatch(/^MBR-/);
    expect(member.sync.status).toBe("PENDING");
    const run = world.started.find((s) => s.name === `${member.guid}-initial`);
    expect(run?.input).toMatchObject({
      userId: sub,
      memberGuid: member.guid,
      mode: "initial",
      identify: false,
    });
    expect(JSON.stringify(run?.input)).not.toContain("password");
  });

  it("returns the same member for a retried identical request, and starts nothing new", async () => {
    // Prepare
    const sub = newUser();
    const first = await connect(sub);
    const startsBefore = world.started.length;

    // Act
    const again = await connect(sub);
    const list = await world.call("ListMembers", { sub });

    // Assess
    expect(again.guid).toBe(first.guid);
    expect(list.body.members).toHaveLength(1);
    expect(world.started.length).toBe(startsBefore);
  });

  it("creates an MX user once per app user: a second bank goes under the same MX user", async () => {
    const sub = newUser();
    await connect(sub, "password");
    await connect(sub, "another-password");

    const stored = await stores.members.listMembers(sub);

    expect(stored).toHaveLength(2);
    expect(new Set(stored.map((m) => m.mxUserGuid)).size).toBe(1);
    expect((await mx.findUserById(sub))?.guid).toBe(stored[0]?.mxUserGuid);
  });

  it("never stores or returns the credential values", async () => {
    const sub = newUser();
    const res = await world.call("CreateMember", {
      sub,
      body: { institution_code: "mxbank", credentials: credentials("s3cret-Value-42") },
    });

    const stored = await stores.members.listMembers(sub);

    expect(res.text).not.toContain("s3cret-Value-42");
    expect(JSON.stringify(stored)).not.toContain("s3cret-Value-42");
    expect(JSON.stringify(world.started)).not.toContain("s3cret-Value-42");
  });

  it("answers 422 when MX does not know the institution", async () => {
    const res = await world.call("CreateMember", {
      sub: newUser(),
      body: { institution_code: "no_such_bank", credentials: credentials("password") },
    });

    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("unprocessable");
  });
});

describe("reading members", () => {
  it("lists the user's members and reads one, with connection and sync status", async () => {
    const sub = newUser();
    const member = await connect(sub);

    const list = await world.call("ListMembers", { sub });
    const one = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

    expect(list.status).toBe(200);
    expect(list.body.members.map((m: { guid: string }) => m.guid)).toEqual([member.guid]);
    expect(one.status).toBe(200);
    expect(one.body.member).toMatchObject({
      guid: member.guid,
      institution_code: "mxbank",
      is_oauth: false,
      challenges_waiting: false,
      sync: { status: "PENDING", counts: null, last_synced_at: null, reason: null },
    });
  });

  it("shows a reason when the last sync needs the user", async () => {
    // Prepare: a run that ended NEEDS_USER (as the workflow's Finish writes it).
    const sub = newUser();
    const member = await connect(sub, "INVALID");
    await stores.members.acquireSyncLease(sub, member.guid, "run-1", 60_000);
    await stores.members.recordConnectionStatus(sub, member.guid, "DENIED");
    await stores.members.finishSync(sub, member.guid, "run-1", {
      status: "NEEDS_USER",
      outcome: "NEEDS_USER",
    });

    // Act
    const one = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(one.body.member.connection_status).toBe("DENIED");
    expect(one.body.member.sync.status).toBe("NEEDS_USER");
    expect(one.body.member.sync.reason).toMatch(/credentials/);
  });
});

describe("POST /v1/members/{member_guid}/sync", () => {
  it("starts a refresh (202), and a second call while that run holds the member starts nothing", async () => {
    // Prepare
    const sub = newUser();
    const member = await connect(sub);
    await stores.members.finishSync(sub, member.guid, "none", {});

    // Act: the first call starts a run; that run takes the lease (as Begin does); then a second call.
    const first = await world.call("SyncMember", { sub, params: { member_guid: member.guid } });
    const refresh = world.started.filter((s) => s.name.startsWith(`${member.guid}-refresh-`));
    await stores.members.acquireSyncLease(sub, member.guid, refresh[0]?.name ?? "", 60_000);
    const second = await world.call("SyncMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(refresh).toHaveLength(1);
    expect(refresh[0]?.input).toMatchObject({ memberGuid: member.guid, mode: "refresh" });
    expect(world.started.filter((s) => s.name.startsWith(`${member.guid}-refresh-`))).toHaveLength(1);
  });
});

describe("owners, accounts and transactions", () => {
  it("serves what the sync stored, transactions newest first and paged by cursor", async () => {
    // Prepare
    const sub = newUser();
    const member = await connect(sub);
    const data = await storeMemberData(sub, member.guid);
    const account = data.accounts[0];
    if (!account) throw new Error("no account");
    const expected = data.transactions.filter((t) => t.account_guid === account.guid);

    // Act
    const owners = await world.call("ListOwners", { sub, params: { member_guid: member.guid } });
    const accounts = await world.call("ListAccounts", { sub });
    const page1 = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account.guid },
      query: { limit: "5" },
    });
    const page2 = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account.guid },
      query: { limit: "5", cursor: page1.body.next_cursor },
    });

    // Assess
    expect(owners.status).toBe(200);
    expect(owners.body.account_owners).toHaveLength(data.owners.length);
    expect(accounts.body.accounts.map((a: { guid: string }) => a.guid).sort()).toEqual(
      data.accounts.map((a) => a.guid).sort(),
    );
    expect(page1.status).toBe(200);
    expect(page1.body.transactions).toHaveLength(5);
    expect(typeof page1.body.next_cursor).toBe("string");
    const dates = [...page1.body.transactions, ...page2.body.transactions].map(
      (t: { date: string }) => t.date,
    );
    expect(dates).toEqual([...dates].sort().reverse());
    const seen = new Set(
      [...page1.body.transactions, ...page2.body.transactions].map((t: { guid: string }) => t.guid),
    );
    expect(seen.size).toBe(10);
    expect(expected.length).toBeGreaterThan(10);
  });

  it("filters transactions by date", async () => {
    const sub = newUser();
    const member = await connect(sub);
    const data = await storeMemberData(sub, member.guid);
    const account = data.accounts[0];
    const dates = data.transactions
      .filter((t) => t.account_guid === account?.guid)
      .map((t) => t.date ?? "")
      .sort();
    const from = dates[Math.floor(dates.length / 2)] ?? "";

    const res = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account?.guid ?? "" },
      query: { from, limit: "500" },
    });

    expect(res.status).toBe(200);
    expect(res.body.transactions.length).toBeGreaterThan(0);
    expect(res.body.transactions.every((t: { date: string }) => t.date >= from)).toBe(true);
  });

  it("answers 400 for a cursor it did not issue", async () => {
    const sub = newUser();
    const member = await connect(sub);
    const data = await storeMemberData(sub, member.guid);

    const res = await world.call("ListTransactions", {
      sub,
      params: { account_guid: data.accounts[0]?.guid ?? "" },
      query: { cursor: Buffer.from('{"pk":"USER#someone-else"}').toString("base64url") },
    });

    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/cursor/);
  });
});

describe("DELETE /v1/members/{member_guid}", () => {
  it("deletes the member at MX and every stored row of it", async () => {
    // Prepare
    const sub = newUser();
    const member = await connect(sub);
    const data = await storeMemberData(sub, member.guid);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";

    // Act
    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(res.status).toBe(204);
    expect(await stores.members.getMember(sub, member.guid)).toBeUndefined();
    expect(await stores.bankData.listAccounts(sub)).toEqual([]);
    expect(await stores.bankData.countTransactions(data.accounts[0]?.guid ?? "")).toBe(0);
    await expect(mx.readMember(mxUserGuid, member.guid)).rejects.toMatchObject({ name: "MxNotFoundError" });
    const again = await world.call("GetMember", { sub, params: { member_guid: member.guid } });
    expect(again.status).toBe(404);
  });

  it("stops the sync run that holds the member, so it writes nothing more", async () => {
    const sub = newUser();
    const member = await connect(sub);
    await stores.members.acquireSyncLease(sub, member.guid, `${member.guid}-initial`, 60_000);

    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });

    expect(res.status).toBe(204);
    expect(world.stopped).toContain(
      `arn:aws:states:us-east-1:123456789012:execution:mx-connect-sync:${member.guid}-initial`,
    );
  });

  it("finishes the job when the member is already gone at MX", async () => {
    const sub = newUser();
    const member = await connect(sub);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";
    await mx.deleteMember(mxUserGuid, member.guid);

    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });

    expect(res.status).toBe(204);
    expect(await stores.members.getMember(sub, member.guid)).toBeUndefined();
  });
});

describe("MFA challenges", () => {
  async function challengedMember(sub: string) {
    const member = await connect(sub, "challenge");
    const record = await stores.members.getMember(sub, member.guid);
    if (!record) throw new Error("not stored");
    // What the workflow's AwaitChallenge does: wait for MX to ask, then store the prompts and the token.
    let challenges = await mx.listChallenges(record.mxUserGuid, member.guid);
    for (let i = 0; i < 100 && challenges.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      challenges = await mx.listChallenges(record.mxUserGuid, member.guid);
    }
    await stores.members.acquireSyncLease(sub, member.guid, "run-mfa", 60_000);
    await stores.members.updateSync(sub, member.guid, "run-mfa", { status: "CHALLENGED" });
    await stores.members.saveChallenges(sub, member.guid, challenges, "task-token-1", 600);
    return { member, challenges };
  }

  it("shows the prompts (never answers) and takes the answers: MX resumes, the run resumes, 202", async () => {
    // Prepare
    const sub = newUser();
    const { member, challenges } = await challengedMember(sub);

    // Act
    const prompts = await world.call("GetChallenges", { sub, params: { member_guid: member.guid } });
    const got = await world.call("GetMember", { sub, params: { member_guid: member.guid } });
    const answered = await world.call("AnswerChallenges", {
      sub,
      params: { member_guid: member.guid },
      body: { challenges: challenges.map((c) => ({ guid: c.guid, value: CORRECT_ANSWER })) },
    });

    // Assess
    expect(prompts.status).toBe(200);
    expect(prompts.body.challenges.map((c: { guid: string }) => c.guid)).toEqual(
      challenges.map((c) => c.guid),
    );
    expect(got.body.member.challenges_waiting).toBe(true);
    expect(answered.status, answered.text).toBe(202);
    expect(answered.text).not.toContain(CORRECT_ANSWER);
    expect(world.taskSuccesses.map((t) => t.taskToken)).toContain("task-token-1");
    expect(JSON.stringify(world.taskSuccesses)).not.toContain(CORRECT_ANSWER);
    expect(answered.body.member.sync.status).toBe("CONNECTING");
  });

  it("answers 409 no_challenge when nothing waits", async () => {
    const sub = newUser();
    const member = await connect(sub);

    const res = await world.call("AnswerChallenges", {
      sub,
      params: { member_guid: member.guid },
      body: { challenges: [{ guid: "CRD-1", value: "x" }] },
    });

    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("no_challenge");
  });
});

describe("another user's guids answer 404, exactly like missing ones", () => {
  it("on every route that takes a member or account guid", async () => {
    // Prepare: Alice's member with stored data; Bob asks for it.
    const alice = newUser();
    const bob = newUser();
    const member = await connect(alice);
    const data = await storeMemberData(alice, member.guid);
    const accountGuid = data.accounts[0]?.guid ?? "";
    const missing = { member_guid: "MBR-00000000-0000-0000-0000-000000000000" };
    const startsBefore = world.started.length;

    const attempts: [string, Record<string, string>, unknown?][] = [
      ["GetMember", { member_guid: member.guid }],
      ["GetChallenges", { member_guid: member.guid }],
      ["AnswerChallenges", { member_guid: member.guid }, { challenges: [{ guid: "CRD-1", value: "x" }] }],
      ["SyncMember", { member_guid: member.guid }],
      ["DeleteMember", { member_guid: member.guid }],
      ["ListOwners", { member_guid: member.guid }],
      ["ListTransactions", { account_guid: accountGuid }],
    ];
    for (const [routeId, params, body] of attempts) {
      // Act
      const theirs = await world.call(routeId, { sub: bob, params, ...(body ? { body } : {}) });
      const none = await world.call(routeId, {
        sub: bob,
        params: "account_guid" in params ? { account_guid: "ACT-00000000-0000" } : missing,
        ...(body ? { body } : {}),
      });

      // Assess
      expect(theirs.status, routeId).toBe(404);
      expect(theirs.body.error.code, routeId).toBe("not_found");
      expect(none.status, routeId).toBe(404);
      expect(theirs.body, routeId).toEqual(none.body);
    }
    expect((await world.call("ListMembers", { sub: bob })).body.members).toEqual([]);
    expect((await world.call("ListAccounts", { sub: bob })).body.accounts).toEqual([]);
    // Nothing of Alice's changed.
    expect(world.started.length).toBe(startsBefore);
    expect(await stores.members.getMember(alice, member.guid)).toBeDefined();
  });
});

// The Connect API's routes, handler by handler: real handler modules invoked with API Gateway v2 events on
// the embedded stack (see api-fixture.ts), where every start runs the real sync workflow against the MX
// sandbox and dynalite. Covers each route's answer, the idempotent create, the one-run-at-a-time refresh,
// delete (stopping the run that holds the member), the MFA answer, and another user's guids answering 404.
import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORRECT_ANSWER, MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID } from "../local/sandbox/index";
import type { SyncStatus } from "../shared/domain/connection";
import { createMxClient, type MxClient } from "../shared/mx/client";
import { createStores, type Stores } from "../shared/storage/dynamo";
import { type ApiWorld, ENDED, mxbankCredentials, newUser, startApiWorld } from "./api-fixture";

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

/** Where a sync run stops: waiting on these (besides the expected one) fails fast with the real outcome. */
const ENDED_UNSYNCED: SyncStatus[] = ["NEEDS_USER", "FAILED", "TIMED_OUT"];

/** Creates an mxbank member; the sandbox's password picks the outcome ("challenge": an MFA prompt). */
async function connect(sub: string, password = "password") {
  const res = await world.call("CreateMember", {
    sub,
    body: { institution_code: "mxbank", credentials: mxbankCredentials(password) },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as {
    guid: string;
    sync: { status: string; counts: unknown; last_synced_at: unknown; reason: unknown };
  };
}

/** Creates a member and waits for its first sync to store everything. */
async function syncedMember(sub: string) {
  const member = await connect(sub);
  expect((await world.waitForSync(sub, member.guid, ENDED)).sync.status).toBe("SYNCED");
  return member;
}

/** Creates a member whose run then waits for the user's MFA answer (and so holds the member). */
async function challengedMember(sub: string) {
  const member = await connect(sub, "challenge");
  expect((await world.waitForSync(sub, member.guid, ["CHALLENGED", ...ENDED])).sync.status).toBe(
    "CHALLENGED",
  );
  return member;
}

/** Answers every waiting prompt correctly, through the API. */
async function answerCorrectly(sub: string, memberGuid: string) {
  const prompts = await world.call("GetChallenges", { sub, params: { member_guid: memberGuid } });
  return world.call("AnswerChallenges", {
    sub,
    params: { member_guid: memberGuid },
    body: {
      challenges: prompts.body.challenges.map((c: { guid: string }) => ({
        guid: c.guid,
        value: CORRECT_ANSWER,
      })),
    },
  });
}

async function accountsOf(sub: string): Promise<{ guid: string }[]> {
  const res = await world.call("ListAccounts", { sub });
  expect(res.status, res.text).toBe(200);
  return res.body.accounts;
}

/** Every item of the table, as stored. */
async function scanTable(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: ScanCommandOutput["LastEvaluatedKey"];
  do {
    const page = await world.dynamo.client.send(
      new ScanCommand({ TableName: world.dynamo.tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
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

    // Assess: the run is under way (it may already have begun when the handler read the member back).
    expect(member.guid).toMatch(/^MBR-/);
    expect(["PENDING", "CONNECTING"]).toContain(member.sync.status);
    expect(member.sync).toMatchObject({ counts: null, last_synced_at: null, reason: null });
    const run = world.started.find((s) => s.name === `${member.guid}-initial`);
    expect(run?.input).toMatchObject({
      userId: sub,
      memberGuid: member.guid,
      mode: "initial",
      identify: false,
    });
    expect(JSON.stringify(run?.input)).not.toContain("password");
    expect((await world.waitForSync(sub, member.guid, ENDED)).sync.status).toBe("SYNCED");
  });

  it("returns the same member for a retried identical request, and starts nothing new", async () => {
    // Prepare
    const sub = newUser();
    const first = await connect(sub);
    const startsBefore = world.started.map((s) => s.name);

    // Act
    const again = await connect(sub);
    const list = await world.call("ListMembers", { sub });

    // Assess
    expect(again.guid).toBe(first.guid);
    expect(list.body.members).toHaveLength(1);
    expect(world.started.map((s) => s.name)).toEqual(startsBefore);
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

  it("never stores or returns the credential values, nor passes them to the workflow", async () => {
    // Prepare
    const sub = newUser();

    // Act
    const res = await world.call("CreateMember", {
      sub,
      body: { institution_code: "mxbank", credentials: mxbankCredentials("s3cret-Value-42") },
    });
    const guid = res.body.member.guid as string;
    await world.waitForSync(sub, guid, ENDED);

    // Assess
    const stored = await stores.members.listMembers(sub);
    expect(res.text).not.toContain("s3cret-Value-42");
    expect(JSON.stringify(stored)).not.toContain("s3cret-Value-42");
    expect(JSON.stringify(world.started)).not.toContain("s3cret-Value-42");
    const history = world.stack.workflow.stepFunctions.history(world.executionArn(`${guid}-initial`));
    expect(history.length).toBeGreaterThan(0);
    expect(JSON.stringify(history)).not.toContain("s3cret-Value-42");
  });

  it("answers 422 when MX does not know the institution", async () => {
    const res = await world.call("CreateMember", {
      sub: newUser(),
      body: { institution_code: "no_such_bank", credentials: mxbankCredentials("password") },
    });

    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("unknown_institution");
  });
});

describe("reading members", () => {
  it("lists the user's members and reads one, with connection and sync status", async () => {
    // Prepare
    const sub = newUser();
    const member = await syncedMember(sub);

    // Act
    const list = await world.call("ListMembers", { sub });
    const one = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(list.status).toBe(200);
    expect(list.body.members.map((m: { guid: string }) => m.guid)).toEqual([member.guid]);
    expect(one.status).toBe(200);
    expect(one.body.member).toMatchObject({
      guid: member.guid,
      institution_code: "mxbank",
      is_oauth: false,
      connection_status: "CONNECTED",
      challenges_waiting: false,
      sync: { status: "SYNCED", reason: null },
    });
    expect(one.body.member.sync.counts.accounts).toBeGreaterThan(0);
    expect(one.body.member.sync.last_synced_at).toEqual(expect.any(String));
  });

  it("shows a reason when the last sync needs the user", async () => {
    // Prepare: the bank rejects the credentials, so the run ends NEEDS_USER.
    const sub = newUser();
    const member = await connect(sub, "INVALID");
    await world.waitForSync(sub, member.guid, ENDED);

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
    // Prepare: a synced member whose every aggregation asks an MFA question, so a refresh run holds it
    // (waiting for the answer) for as long as the test needs.
    const sub = newUser();
    const member = await challengedMember(sub);
    expect((await answerCorrectly(sub, member.guid)).status).toBe(202);
    await world.waitForSync(sub, member.guid, ENDED);
    // MX aggregates again (and asks again) only 3 hours after a successful aggregation.
    await world.sandbox.advanceTime(3 * 3_600_000 + 60_000);

    // Act: the first call starts a run; once it holds the member (CHALLENGED), a second call.
    const first = await world.call("SyncMember", { sub, params: { member_guid: member.guid } });
    // (not SYNCED: that is where the member stands until the new run's first write)
    const holding = await world.waitForSync(sub, member.guid, ["CHALLENGED", ...ENDED_UNSYNCED]);
    const second = await world.call("SyncMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(first.status).toBe(202);
    expect(holding.sync.status).toBe("CHALLENGED");
    expect(second.status).toBe(202);
    const refresh = world.started.filter((s) => s.name.startsWith(`${member.guid}-refresh-`));
    expect(refresh).toHaveLength(1);
    expect(refresh[0]?.input).toMatchObject({ memberGuid: member.guid, mode: "refresh" });
    const arn = world.executionArn(refresh[0]?.name ?? "");
    expect(world.stack.workflow.stepFunctions.describeExecution({ executionArn: arn }).status).toBe(
      "RUNNING",
    );
  });
});

describe("owners, accounts and transactions", () => {
  it("serves what the sync stored, transactions newest first and paged by cursor", async () => {
    // Prepare: the sync stores what the bank has; MX's own lists are what the API must serve.
    const sub = newUser();
    const member = await syncedMember(sub);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";
    const atMx = {
      accounts: (await mx.listAccounts(mxUserGuid, member.guid)).items,
      owners: (await mx.listAccountOwners(mxUserGuid, member.guid)).items,
    };
    const account = atMx.accounts[0];
    if (!account) throw new Error("no account at MX");

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
    expect(owners.body.account_owners).toHaveLength(atMx.owners.length);
    expect(accounts.body.accounts.map((a: { guid: string }) => a.guid).sort()).toEqual(
      atMx.accounts.map((a) => a.guid).sort(),
    );
    expect(page1.status).toBe(200);
    expect(page1.body.transactions).toHaveLength(5);
    expect(typeof page1.body.next_cursor).toBe("string");
    expect(page2.body.transactions).toHaveLength(5);
    const dates = [...page1.body.transactions, ...page2.body.transactions].map(
      (t: { date: string }) => t.date,
    );
    expect(dates).toEqual([...dates].sort().reverse());
    const seen = new Set(
      [...page1.body.transactions, ...page2.body.transactions].map((t: { guid: string }) => t.guid),
    );
    expect(seen.size).toBe(10);
  });

  it("filters transactions by date", async () => {
    // Prepare
    const sub = newUser();
    await syncedMember(sub);
    const [account] = await accountsOf(sub);
    const all = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account?.guid ?? "" },
      query: { limit: "500" },
    });
    const dates = all.body.transactions.map((t: { date: string }) => t.date).sort();
    const from: string = dates[Math.floor(dates.length / 2)] ?? "";

    // Act
    const res = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account?.guid ?? "" },
      query: { from, limit: "500" },
    });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body.transactions.length).toBeGreaterThan(0);
    expect(res.body.transactions.every((t: { date: string }) => t.date >= from)).toBe(true);
  });

  it("answers 400 for a cursor it did not issue", async () => {
    const sub = newUser();
    await syncedMember(sub);
    const [account] = await accountsOf(sub);

    const res = await world.call("ListTransactions", {
      sub,
      params: { account_guid: account?.guid ?? "" },
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
    const member = await syncedMember(sub);
    const [account] = await accountsOf(sub);
    expect(await stores.bankData.countTransactions(sub, account?.guid ?? "")).toBeGreaterThan(0);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";

    // Act
    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });
    const deleting = await world.call("GetMember", { sub, params: { member_guid: member.guid } });
    await world.stack.purge.drain();

    // Assess: 202 and deleting at once; the purge then leaves nothing.
    expect(res.status).toBe(202);
    expect(res.body.member).toMatchObject({ guid: member.guid, deleting: true });
    expect(deleting.body.member.deleting).toBe(true);
    expect(await stores.members.getMember(sub, member.guid)).toBeUndefined();
    expect(await stores.bankData.listAccounts(sub)).toEqual([]);
    expect(await stores.bankData.countTransactions(sub, account?.guid ?? "")).toBe(0);
    await expect(mx.readMember(mxUserGuid, member.guid)).rejects.toMatchObject({ name: "MxNotFoundError" });
    const again = await world.call("GetMember", { sub, params: { member_guid: member.guid } });
    expect(again.status).toBe(404);
  });

  it("stops the sync run that holds the member, so it writes nothing more", async () => {
    // Prepare: the initial run holds the member, waiting for an MFA answer.
    const sub = newUser();
    const member = await challengedMember(sub);
    const runArn = world.executionArn(`${member.guid}-initial`);

    // Act
    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });
    await world.stack.purge.drain();

    // Assess
    expect(res.status).toBe(202);
    expect(world.stopped).toContain(runArn);
    expect((await world.stack.workflow.waitForExecution(runArn)).status).toBe("ABORTED");
    expect(world.stack.workflow.pendingTaskTokens(runArn)).toEqual([]);
    expect(await stores.members.getMember(sub, member.guid)).toBeUndefined();
    expect(await stores.bankData.listAccounts(sub)).toEqual([]);
  });

  it("finishes the job when the member is already gone at MX", async () => {
    const sub = newUser();
    const member = await syncedMember(sub);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";
    await mx.deleteMember(mxUserGuid, member.guid);

    const res = await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });
    await world.stack.purge.drain();

    expect(res.status).toBe(202);
    expect(await stores.members.getMember(sub, member.guid)).toBeUndefined();
  });
});

describe("MFA challenges", () => {
  it("shows the prompts (never answers) and takes the answers: MX resumes, the run resumes, 202", async () => {
    // Prepare
    const sub = newUser();
    const member = await challengedMember(sub);
    const mxUserGuid = (await stores.members.getMember(sub, member.guid))?.mxUserGuid ?? "";
    const atMx = await mx.listChallenges(mxUserGuid, member.guid);
    const runArn = world.executionArn(`${member.guid}-initial`);

    // Act
    const prompts = await world.call("GetChallenges", { sub, params: { member_guid: member.guid } });
    const got = await world.call("GetMember", { sub, params: { member_guid: member.guid } });
    const answered = await world.call("AnswerChallenges", {
      sub,
      params: { member_guid: member.guid },
      body: {
        challenges: prompts.body.challenges.map((c: { guid: string }) => ({
          guid: c.guid,
          value: CORRECT_ANSWER,
        })),
      },
    });
    const after = await world.waitForSync(sub, member.guid, ENDED);

    // Assess: the prompts are MX's; once answered the app never sees CHALLENGED again, and the run syncs.
    expect(prompts.status).toBe(200);
    expect(prompts.body.challenges.map((c: { guid: string }) => c.guid)).toEqual(atMx.map((c) => c.guid));
    expect(got.body.member.challenges_waiting).toBe(true);
    expect(answered.status, answered.text).toBe(202);
    expect(answered.body.member.sync.status).not.toBe("CHALLENGED");
    expect(answered.body.member.challenges_waiting).toBe(false);
    expect(after.sync.status).toBe("SYNCED");
    // The answer went to MX only: not in any response, the run's input or history, or the table.
    for (const text of [prompts.text, got.text, answered.text]) expect(text).not.toContain(CORRECT_ANSWER);
    const sfn = world.stack.workflow.stepFunctions;
    expect(sfn.describeExecution({ executionArn: runArn }).input).not.toContain(CORRECT_ANSWER);
    expect(JSON.stringify(sfn.history(runArn))).not.toContain(CORRECT_ANSWER);
    const rows = (await scanTable()).map((item) => JSON.stringify(item));
    const ours = rows.filter((row) => row.includes(sub) || row.includes(member.guid));
    expect(ours.length).toBeGreaterThan(1);
    for (const row of ours) expect(row).not.toContain(CORRECT_ANSWER);
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
    // Prepare: Alice's synced member with its data; Bob asks for it.
    const alice = newUser();
    const bob = newUser();
    const member = await syncedMember(alice);
    const [account] = await accountsOf(alice);
    const accountGuid = account?.guid ?? "";
    const missing = { member_guid: "MBR-00000000-0000-0000-0000-000000000000" };
    const startsBefore = world.started.map((s) => s.name);
    const aliceBefore = await stores.members.getMember(alice, member.guid);

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
    expect(world.started.map((s) => s.name)).toEqual(startsBefore);
    expect(await stores.members.getMember(alice, member.guid)).toEqual(aliceBefore);
    expect((await accountsOf(alice)).map((a) => a.guid)).toContain(accountGuid);
  });
});

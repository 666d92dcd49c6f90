// Reconnect (POST /v1/members/{guid}/reconnect) on the embedded stack: a member that needs the user returns
// to SYNCED without being deleted — new credentials for a credential member (MX's PUT member), a new OAuth
// window for an OAuth member — and its stored data stays readable before, during and after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import {
  API_BASE_URL,
  APP_URL,
  type ApiWorld,
  ENDED,
  mxbankCredentials,
  newUser,
  startApiWorld,
} from "./api-fixture";

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(async () => {
  await world?.close();
});

async function connect(sub: string, password: string) {
  const res = await world.call("CreateMember", {
    sub,
    body: { institution_code: "mxbank", credentials: mxbankCredentials(password) },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member.guid as string;
}

async function accountGuids(sub: string): Promise<string[]> {
  const res = await world.call("ListAccounts", { sub });
  expect(res.status).toBe(200);
  return (res.body.accounts as { guid: string }[]).map((a) => a.guid).sort();
}

async function triggers(sub: string, guid: string): Promise<string[]> {
  const res = await world.call("ListSyncs", { sub, params: { member_guid: guid } });
  return (res.body.syncs as { trigger: string }[]).map((s) => s.trigger);
}

/** Polls MX's own view of the member until its connection status is `status`. */
async function waitAtMx(sub: string, guid: string, status: string) {
  const stored = await world.stack.stores.members.getMember(sub, guid);
  if (!stored) throw new Error("no stored member");
  for (let i = 0; i < 400; i++) {
    const member = await world.stack.mx.readMemberStatus(stored.mxUserGuid, guid);
    if (member.connection_status === status) return stored.mxUserGuid;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`MX never showed ${status}`);
}

/** Polls the member's history until it holds `count` runs (the last one has finished). */
async function waitForRuns(sub: string, guid: string, count: number) {
  for (let i = 0; i < 400; i++) {
    if ((await triggers(sub, guid)).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the member never had ${count} runs`);
}

/** Calls our callback handler with MX's redirect, as API Gateway would deliver it. */
function followToCallback(redirect: URL) {
  expect(redirect.href.startsWith(`${API_BASE_URL}/v1/oauth/callback/`)).toBe(true);
  const state = decodeURIComponent(redirect.pathname.split("/").pop() ?? "");
  return world.call("OauthCallback", {
    sub: null,
    params: { state },
    query: Object.fromEntries(redirect.searchParams),
  });
}

describe("a credential member", () => {
  it("after DENIED (the password changed at the bank): new credentials bring it back to SYNCED, data kept", async () => {
    // Prepare: synced with data, then the bank refuses the stored password on the user's next sync.
    const sub = newUser();
    const guid = await connect(sub, "password");
    expect((await world.waitForSync(sub, guid, ENDED)).sync.status).toBe("SYNCED");
    const accounts = await accountGuids(sub);
    const mxUserGuid = await waitAtMx(sub, guid, "CONNECTED");
    await world.stack.mx.updateMemberCredentials(mxUserGuid, guid, mxbankCredentials("INVALID"));
    await waitAtMx(sub, guid, "DENIED");
    await world.sandbox.advanceTime(3 * 3_600_000 + 1_000);
    expect((await world.call("SyncMember", { sub, params: { member_guid: guid } })).status).toBe(202);
    const denied = await world.waitForSync(sub, guid, ["NEEDS_USER", "FAILED", "TIMED_OUT"]);
    expect(denied.needs_user_action).toBe(true);
    expect(await accountGuids(sub)).toEqual(accounts);

    // Act
    const res = await world.call("ReconnectMember", {
      sub,
      params: { member_guid: guid },
      body: { credentials: mxbankCredentials("new-password") },
    });
    const during = await accountGuids(sub);
    const after = await world.waitForSync(sub, guid, ["SYNCED", "FAILED", "TIMED_OUT"]);

    // Assess
    expect(res.status, res.text).toBe(202);
    expect(res.text).not.toContain("new-password");
    expect(during).toEqual(accounts);
    expect(after.sync.status).toBe("SYNCED");
    expect(after.connection_status).toBe("CONNECTED");
    expect(after.needs_user_action).toBe(false);
    expect(after.sync.consecutive_failures).toBe(0);
    expect(await accountGuids(sub)).toEqual(accounts);
    expect(await triggers(sub, guid)).toEqual(["reconnect", "user", "create"]);
    const run = world.started.find((s) => s.name.startsWith(`${guid}-reconnect-`));
    expect(run?.input).toMatchObject({ trigger: "reconnect" });
    expect(JSON.stringify(run?.input)).not.toContain("new-password");
  });

  it("after EXPIRED (the MFA challenge was not answered in time): new credentials connect it", async () => {
    // Prepare: the challenge expires at MX before the user answers.
    const sub = newUser();
    const guid = await connect(sub, "challenge");
    expect((await world.waitForSync(sub, guid, ["CHALLENGED", ...ENDED])).sync.status).toBe("CHALLENGED");
    await world.sandbox.advanceTime(world.sandbox.knobs.challengeExpiryMs + 1_000);
    const prompts = await world.call("GetChallenges", { sub, params: { member_guid: guid } });
    await world.call("AnswerChallenges", {
      sub,
      params: { member_guid: guid },
      body: {
        challenges: (prompts.body.challenges as { guid: string }[]).map((c) => ({
          guid: c.guid,
          value: CORRECT_ANSWER,
        })),
      },
    });
    const expired = await world.waitForSync(sub, guid, ["NEEDS_USER", "SYNCED", "FAILED", "TIMED_OUT"]);
    expect(expired.sync.status).toBe("NEEDS_USER");
    expect(expired.connection_status).toBe("EXPIRED");

    // Act
    const res = await world.call("ReconnectMember", {
      sub,
      params: { member_guid: guid },
      body: { credentials: mxbankCredentials("password") },
    });
    const after = await world.waitForSync(sub, guid, ["SYNCED", "FAILED", "TIMED_OUT"]);

    // Assess
    expect(res.status, res.text).toBe(202);
    expect(after.sync.status).toBe("SYNCED");
    expect(after.sync.counts?.accounts).toBeGreaterThan(0);
    expect((await triggers(sub, guid))[0]).toBe("reconnect");
  });

  it("refuses a reconnect without credentials, an OAuth-style body shape, and another user's member", async () => {
    // Prepare
    const sub = newUser();
    const guid = await connect(sub, "INVALID");
    await world.waitForSync(sub, guid, ENDED);

    // Act
    const empty = await world.call("ReconnectMember", { sub, params: { member_guid: guid }, body: {} });
    const unknownField = await world.call("ReconnectMember", {
      sub,
      params: { member_guid: guid },
      body: { password: "x" },
    });
    const foreign = await world.call("ReconnectMember", {
      sub: newUser(),
      params: { member_guid: guid },
      body: { credentials: mxbankCredentials("password") },
    });

    // Assess
    expect(empty.status).toBe(400);
    expect(empty.body.error).toEqual({
      code: "invalid_request",
      message: expect.stringMatching(/credentials/),
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.text).not.toContain('"x"');
    expect(foreign.status).toBe(404);
  });
});

describe("an OAuth member", () => {
  async function createOauth(sub: string) {
    const res = await world.call("CreateMember", {
      sub,
      body: { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: APP_URL },
    });
    expect(res.status, res.text).toBe(202);
    return res.body.member as { guid: string; oauth_window_uri: string };
  }

  it("denied at the bank, then a new window: Authorize and the callback's sync bring it to SYNCED", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauth(sub);
    await followToCallback((await decideAtBank(member.oauth_window_uri, "deny")).redirect);
    expect((await world.waitForSync(sub, member.guid, ENDED)).needs_user_action).toBe(true);

    // Act
    const res = await world.call("ReconnectMember", { sub, params: { member_guid: member.guid }, body: {} });
    const callback = await followToCallback(
      (await decideAtBank(res.body.member.oauth_window_uri, "authorize")).redirect,
    );
    const after = await world.waitForSync(sub, member.guid, ["SYNCED", "FAILED", "TIMED_OUT"]);

    // Assess
    expect(res.status, res.text).toBe(202);
    expect(res.body.member.oauth_window_uri).not.toBe(member.oauth_window_uri);
    expect(callback.status).toBe(302);
    expect(after.sync.status).toBe("SYNCED");
  });

  it("a synced member asks for a new window (consent to renew): the sync after it is a reconnect, data kept", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauth(sub);
    await followToCallback((await decideAtBank(member.oauth_window_uri, "authorize")).redirect);
    expect((await world.waitForSync(sub, member.guid, ENDED)).sync.status).toBe("SYNCED");
    const accounts = await accountGuids(sub);

    // Act
    const res = await world.call("ReconnectMember", { sub, params: { member_guid: member.guid }, body: {} });
    const during = await accountGuids(sub);
    await followToCallback((await decideAtBank(res.body.member.oauth_window_uri, "authorize")).redirect);
    await waitForRuns(sub, member.guid, 2);
    const after = await world.waitForSync(sub, member.guid, ENDED);

    // Assess
    expect(res.status, res.text).toBe(202);
    expect(during).toEqual(accounts);
    expect(after.sync.status).toBe("SYNCED");
    expect(await accountGuids(sub)).toEqual(accounts);
    expect(await triggers(sub, member.guid)).toEqual(["reconnect", "oauth"]);
  });

  it("refuses credentials for an OAuth member", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauth(sub);

    // Act
    const res = await world.call("ReconnectMember", {
      sub,
      params: { member_guid: member.guid },
      body: { credentials: mxbankCredentials("password") },
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });
});

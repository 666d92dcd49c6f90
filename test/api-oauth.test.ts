// OAuth members end to end at the handler level, on the embedded stack (see api-fixture.ts): create → the
// sandbox's OAuth page (over HTTP) → Authorize or Deny → MX's redirect → our callback handler, whose start
// runs the real sync. Then the callback's defences: forged, expired and replayed states get a 4xx page and
// change nothing.
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import { deriveApiKeys, signOauthState } from "../shared/api/oauth-state";
import { createStores, type Stores } from "../shared/storage/dynamo";
import { API_BASE_URL, APP_URL, type ApiWorld, newUser, startApiWorld } from "./api-fixture";

let world: ApiWorld;
let stores: Stores;

beforeAll(async () => {
  world = await startApiWorld();
  stores = createStores({
    doc: DynamoDBDocumentClient.from(world.dynamo.client),
    tableName: world.dynamo.tableName,
  });
});
afterAll(async () => {
  await world?.close();
});

const ENDED = ["SYNCED", "NEEDS_USER", "FAILED", "TIMED_OUT"] as const;

async function createOauthMember(sub: string, redirectUrl: string | null = APP_URL) {
  const res = await world.call("CreateMember", {
    sub,
    body: {
      institution_code: "mx_bank_oauth",
      is_oauth: true,
      ...(redirectUrl ? { redirect_url: redirectUrl } : {}),
    },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as { guid: string; oauth_window_uri: string; sync: { status: string } };
}

/** Opens the OAuth window and clicks Authorize or Deny: returns where MX sends the browser. */
async function clickAtBank(windowUri: string, choice: "authorize" | "deny"): Promise<URL> {
  const { click, redirect } = await decideAtBank(windowUri, choice);
  expect(click.status).toBe(302);
  return redirect;
}

/** Calls our callback handler with MX's redirect, as API Gateway would deliver it. */
function followToCallback(redirect: URL, extraQuery: Record<string, string> = {}) {
  const prefix = `${API_BASE_URL}/v1/oauth/callback/`;
  expect(redirect.href.startsWith(prefix)).toBe(true);
  const state = decodeURIComponent(redirect.pathname.split("/").pop() ?? "");
  return world.call("OauthCallback", {
    sub: null,
    params: { state },
    query: { ...Object.fromEntries(redirect.searchParams), ...extraQuery },
  });
}

/** An HTML text as a browser shows it (the page escapes everything it prints). */
const unescapeHtml = (text: string) =>
  text
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

/** The links a callback page offers, as a browser would read their href. */
const linksOf = (html: string) =>
  [...html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => unescapeHtml(m[1] ?? ""));

/** An app URL the test network's allow-list admits (it lists APP_URL first: the deployment's app URL). */
const OTHER_APP_URL = `${APP_URL}/elsewhere`;

describe("connecting an OAuth member", () => {
  it("answers 202 with an oauth_window_uri whose redirect leads back to our callback; nothing starts yet", async () => {
    const sub = newUser();
    const member = await createOauthMember(sub);

    expect(member.oauth_window_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/window\//);
    expect(member.sync.status).toBe("PENDING");
    expect(world.started.some((s) => s.name.startsWith(member.guid))).toBe(false);
  });

  it("Authorize: the callback starts the sync and sends the browser back to the app with the outcome", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");

    // Act
    const res = await followToCallback(redirect);

    // Assess
    expect(res.status).toBe(302);
    const back = new URL(res.headers.location ?? "");
    expect(`${back.origin}${back.pathname}`).toBe(APP_URL);
    expect(Object.fromEntries(back.searchParams)).toEqual({ status: "received", member_guid: member.guid });
    const run = world.started.find((s) => s.name.startsWith(`${member.guid}-oauth-`));
    expect(run?.input).toMatchObject({ userId: sub, memberGuid: member.guid, mode: "initial" });
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect((await world.waitForSync(sub, member.guid, ENDED)).sync.status).toBe("SYNCED");
  });

  it("Deny: the callback records that the user must act, starts nothing, and tells the app", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub);
    const redirect = await clickAtBank(member.oauth_window_uri, "deny");

    // Act
    const res = await followToCallback(redirect);
    const read = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(res.status).toBe(302);
    const back = new URL(res.headers.location ?? "");
    expect(back.searchParams.get("status")).toBe("error");
    expect(back.searchParams.get("error_reason")).toBe("DENIED");
    expect(world.started.some((s) => s.name.startsWith(member.guid))).toBe(false);
    expect(read.body.member.sync.status).toBe("NEEDS_USER");
    // MX's DENIED on the OAuth redirect is the user declining at the bank, not bad credentials.
    expect(read.body.member.sync.reason).toMatch(/user declined/i);
    expect(read.body.member.sync.reason).not.toMatch(/credentials|bank did not allow/i);
  });

  it("Deny without a redirect_url: the page says the user declined and links back to the deployment's app URL", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub, null);
    const redirect = await clickAtBank(member.oauth_window_uri, "deny");

    // Act
    const res = await followToCallback(redirect, { redirect_url: "https://evil.test/steal" });
    const read = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

    // Assess
    expect(res.status).toBe(200);
    expect(res.text).toContain("Bank not connected");
    expect(res.text).toMatch(/user declined/i);
    expect(res.text).not.toMatch(/bank did not allow/i);
    expect(linksOf(res.text)).toEqual([APP_URL]);
    expect(res.text).not.toContain("evil.test");
    // A plain link: the page still runs no script and loads no style, and the CSP still forbids both.
    expect(res.text).not.toMatch(/<script|<style|\sstyle=|\son\w+=/i);
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(read.body.member.sync.reason).toMatch(/user declined/i);
  });

  it.each(["CANCELLED", "SESSION_EXPIRED", "IMPEDED", "PROVIDER_ERROR", "SERVER_ERROR", "SOMETHING_NEW"])(
    "MX's error_reason %s without a redirect_url: a page with the reason and a link back to the app",
    async (errorReason) => {
      // Prepare: MX's own redirect for this window, with the outcome MX would send for this reason.
      const sub = newUser();
      const member = await createOauthMember(sub, null);
      const redirect = await clickAtBank(member.oauth_window_uri, "deny");
      redirect.searchParams.set("error_reason", errorReason);

      // Act
      const res = await followToCallback(redirect);
      const read = await world.call("GetMember", { sub, params: { member_guid: member.guid } });

      // Assess
      expect(res.status).toBe(200);
      expect(unescapeHtml(res.text)).toContain(read.body.member.sync.reason);
      expect(read.body.member.sync.reason).not.toMatch(/declined/i);
      expect(linksOf(res.text)).toEqual([APP_URL]);
    },
  );

  it("shows a page when the member has no redirect_url", async () => {
    const member = await createOauthMember(newUser(), null);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");

    const res = await followToCallback(redirect);

    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("Sign-in received");
  });

  it("a retried identical create returns the same member with a fresh window", async () => {
    const sub = newUser();
    const first = await createOauthMember(sub);

    const second = await createOauthMember(sub);

    expect(second.guid).toBe(first.guid);
    expect(second.oauth_window_uri).not.toBe(first.oauth_window_uri);
    expect((await world.call("ListMembers", { sub })).body.members).toHaveLength(1);
  });
});

describe("the callback's defences: nothing changes on a bad state", () => {
  async function snapshot(sub: string, memberGuid: string) {
    return {
      starts: world.started.length,
      member: await stores.members.getMember(sub, memberGuid),
    };
  }

  it("a replayed state gets 409 and starts nothing more", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    expect((await followToCallback(redirect)).status).toBe(302);
    // The run that callback started ends first, so the snapshot only changes if the replay does something.
    await world.waitForSync(sub, member.guid, ENDED);
    const before = await snapshot(sub, member.guid);

    // Act
    const replay = await followToCallback(redirect);

    // Assess
    expect(replay.status).toBe(409);
    expect(replay.text).toContain("already used");
    expect(await snapshot(sub, member.guid)).toEqual(before);
  });

  it("a replayed state's page links back to the member's own redirect_url, never to one in the query", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub, OTHER_APP_URL);
    const redirect = await clickAtBank(member.oauth_window_uri, "deny");
    expect((await followToCallback(redirect)).status).toBe(302);

    // Act
    const replay = await followToCallback(redirect, { redirect_url: "https://evil.test/steal" });

    // Assess
    expect(replay.status).toBe(409);
    expect(linksOf(replay.text)).toEqual([OTHER_APP_URL]);
    expect(replay.text).not.toContain("evil.test");
  });

  it("the way back is escaped: a redirect_url with quotes and markup stays one plain link", async () => {
    // Prepare
    const sub = newUser();
    const tricky = `${APP_URL}?next="><b>x</b>&y='z'`;
    const member = await createOauthMember(sub, tricky);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    expect((await followToCallback(redirect)).status).toBe(302);

    // Act
    const replay = await followToCallback(redirect);

    // Assess
    expect(replay.status).toBe(409);
    expect(replay.text).not.toContain("<b>");
    expect(replay.text.match(/<a\s[^>]*>/g)).toEqual([
      expect.stringMatching(/^<a href="[^"<>]*" rel="noreferrer">$/),
    ]);
    const [link] = linksOf(replay.text);
    expect(link?.startsWith(`${APP_URL}?next=`)).toBe(true);
  });

  it("a forged state (tampered payload, or signed with another key) gets 400, and the genuine one still works", async () => {
    // Prepare
    const sub = newUser();
    const member = await createOauthMember(sub);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    const genuine = decodeURIComponent(redirect.pathname.split("/").pop() ?? "");
    const [payload = "", signature = ""] = genuine.split(".");
    // The payload is sealed: tampering flips one of its bits.
    const bytes = Buffer.from(payload, "base64url");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    const tampered = `${bytes.toString("base64url")}.${signature}`;
    const otherKey = signOauthState(
      deriveApiKeys("x".repeat(40)).oauthState,
      { userId: sub, memberGuid: member.guid },
      new Date(),
    ).token;
    const before = await snapshot(sub, member.guid);

    // Act
    const forged = await Promise.all(
      [tampered, otherKey].map((state) => world.call("OauthCallback", { sub: null, params: { state } })),
    );
    const mismatched = await world.call("OauthCallback", {
      sub: null,
      params: { state: genuine },
      query: { status: "success", member_guid: "MBR-00000000-0000" },
    });

    // Assess
    for (const res of [...forged, mismatched]) {
      expect(res.status).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      // Nothing about a forged state can be trusted: only the deployment's own app URL is offered.
      expect(linksOf(res.text)).toEqual([APP_URL]);
    }
    expect(await snapshot(sub, member.guid)).toEqual(before);
    expect((await followToCallback(redirect)).status).toBe(302);
  });

  it("an expired state gets 410 and changes nothing", async () => {
    // Prepare: a state signed with the server's own key 11 minutes ago (it lives 10).
    const sub = newUser();
    const member = await createOauthMember(sub);
    const { token } = signOauthState(
      deriveApiKeys(world.signingSecret).oauthState,
      { userId: sub, memberGuid: member.guid },
      new Date(Date.now() - 11 * 60_000),
    );
    const before = await snapshot(sub, member.guid);

    // Act
    const res = await world.call("OauthCallback", {
      sub: null,
      params: { state: token },
      query: { status: "success", member_guid: member.guid },
    });

    // Assess
    expect(res.status).toBe(410);
    expect(res.text).toContain("expired");
    expect(linksOf(res.text)).toEqual([APP_URL]);
    expect(await snapshot(sub, member.guid)).toEqual(before);
  });

  it("a deleted member's state gets 404", async () => {
    const sub = newUser();
    const member = await createOauthMember(sub);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    await world.call("DeleteMember", { sub, params: { member_guid: member.guid } });

    const res = await followToCallback(redirect);

    expect(res.status).toBe(404);
    expect(linksOf(res.text)).toEqual([APP_URL]);
    expect(world.started.some((s) => s.name.startsWith(member.guid))).toBe(false);
  });
});

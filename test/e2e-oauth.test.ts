// OAuth end to end over HTTP, as a browser and an app would: create the OAuth member through the API, open
// the sandbox's oauth_window_uri, click Authorize or Deny, follow MX's redirect to this API's callback, then
// the callback's redirect back to the app. Then the callback's defences: forged, expired, replayed states.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import type { RunningAll } from "../local/start";
import { deriveApiKeys, signOauthState } from "../shared/api/oauth-state";
import { APP_URL, type ApiClient, browserGet, clientFor, startE2e, waitForSync } from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e();
});
afterAll(async () => {
  await app?.close();
});

async function createOauthMember(api: ApiClient, redirectUrl: string | null = APP_URL) {
  const res = await api.post("/v1/members", {
    institution_code: "mx_bank_oauth",
    is_oauth: true,
    ...(redirectUrl ? { redirect_url: redirectUrl } : {}),
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as { guid: string; oauth_window_uri: string; sync: { status: string } };
}

/** Opens the bank's page and clicks `choice`: returns MX's redirect, which must land on this API's callback. */
async function clickAtBank(windowUri: string, choice: "authorize" | "deny"): Promise<URL> {
  const { page, click, redirect } = await decideAtBank(windowUri, choice);
  expect(page.status).toBe(200);
  expect(click.status).toBe(302);
  expect(redirect.href.startsWith(`${app.apiUrl}/v1/oauth/callback/`)).toBe(true);
  return redirect;
}

describe("OAuth: Authorize", () => {
  it("the callback starts the sync and sends the browser back to the app; the member syncs", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createOauthMember(api);
    expect(member.sync.status).toBe("PENDING");
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");

    // Act
    const callback = await browserGet(redirect.href);

    // Assess
    expect(callback.status).toBe(302);
    const back = new URL(callback.headers.get("location") ?? "");
    expect(`${back.origin}${back.pathname}`).toBe(APP_URL);
    expect(back.searchParams.get("member_guid")).toBe(member.guid);
    const done = await waitForSync(api, member.guid);
    expect(done.sync.status).toBe("SYNCED");
    expect(done.sync.counts?.accounts).toBeGreaterThan(0);
  });

  it("without a redirect_url, the callback shows a small page saying what happened", async () => {
    const api = await clientFor(app);
    const member = await createOauthMember(api, null);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");

    const callback = await browserGet(redirect.href);

    expect(callback.status).toBe(200);
    expect(callback.headers.get("content-type")).toContain("text/html");
    expect(callback.text.length).toBeGreaterThan(0);
    expect((await waitForSync(api, member.guid)).sync.status).toBe("SYNCED");
  });

  it("a redirect_url outside the allow-list is refused at create (400)", async () => {
    const api = await clientFor(app);

    const res = await api.post("/v1/members", {
      institution_code: "mx_bank_oauth",
      is_oauth: true,
      redirect_url: "https://evil.example/steal",
    });

    expect(res.status).toBe(400);
    expect(res.body.error.code).toEqual(expect.any(String));
  });
});

describe("OAuth: Deny", () => {
  it("the callback records the refusal, sends the browser back with the error, and nothing syncs", async () => {
    const api = await clientFor(app);
    const member = await createOauthMember(api);
    const redirect = await clickAtBank(member.oauth_window_uri, "deny");
    expect(redirect.searchParams.get("status")).toBe("error");

    const callback = await browserGet(redirect.href);

    expect(callback.status).toBe(302);
    const back = new URL(callback.headers.get("location") ?? "");
    expect(`${back.origin}${back.pathname}`).toBe(APP_URL);
    // MX's own code passes through for the app; the member's reason says who said no: the user.
    expect(back.searchParams.get("error_reason")).toBe("DENIED");
    const seen = await waitForSync(api, member.guid);
    expect(seen.sync.status).toBe("NEEDS_USER");
    expect(seen.sync.reason).toMatch(/user declined/i);
    expect(seen.sync.reason).not.toMatch(/credentials/i);
    expect(seen.sync.counts).toBeNull();
  });

  it("without a redirect_url, the page says the user declined and links back to the app", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createOauthMember(api, null);
    const redirect = await clickAtBank(member.oauth_window_uri, "deny");

    // Act
    const callback = await browserGet(redirect.href);

    // Assess
    expect(callback.status).toBe(200);
    expect(callback.text).toMatch(/user declined/i);
    expect(linksOf(callback.text)).toEqual([APP_URL]);
    expect((await waitForSync(api, member.guid)).sync.reason).toMatch(/user declined/i);
  });
});

/** The links a callback page offers (hrefs as escaped in the page: these URLs have nothing to escape). */
const linksOf = (html: string) => [...html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => m[1]);

describe("the callback's defences", () => {
  it("a replayed callback gets a 4xx page and changes nothing", async () => {
    const api = await clientFor(app);
    const member = await createOauthMember(api);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    expect((await browserGet(redirect.href)).status).toBe(302);
    const synced = await waitForSync(api, member.guid);

    const replay = await browserGet(redirect.href);

    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(replay.headers.get("location")).toBeNull();
    expect(linksOf(replay.text)).toEqual([APP_URL]);
    const after = (await api.get(`/v1/members/${member.guid}`)).body.member;
    expect(after.sync).toEqual(synced.sync);
  });

  it("a forged state (altered payload or signature) gets a 4xx page and changes nothing", async () => {
    const api = await clientFor(app);
    const member = await createOauthMember(api);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize");
    const state = redirect.pathname.split("/").pop() ?? "";
    const [payload = "", signature = ""] = state.split(".");
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    // The payload is sealed: forging it flips one of its bits.
    const bytes = Buffer.from(payload, "base64url");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    const forgedPayload = bytes.toString("base64url");

    for (const forged of [`${payload}.${flipped}`, `${forgedPayload}.${signature}`, "not-a-state"]) {
      const res = await browserGet(`${app.apiUrl}/v1/oauth/callback/${forged}${redirect.search}`);
      expect(res.status, forged).toBeGreaterThanOrEqual(400);
      expect(res.status, forged).toBeLessThan(500);
      expect(res.headers.get("location")).toBeNull();
      // A forged state names no member worth trusting: the way back is the deployment's app URL, never
      // anything the request carries.
      if (forged !== "not-a-state") expect(linksOf(res.text), forged).toEqual([APP_URL]);
    }
    expect((await api.get(`/v1/members/${member.guid}`)).body.member.sync.status).toBe("PENDING");

    // The genuine state still works afterwards: the forgeries consumed nothing.
    expect((await browserGet(redirect.href)).status).toBe(302);
  });

  it("an expired state (signed with the real key, older than 10 minutes) gets a 4xx page", async () => {
    // Prepare: the signing key the API uses, read from the local Secrets Manager as the handler reads it.
    const api = await clientFor(app);
    const member = await createOauthMember(api);
    const secretId = process.env.OAUTH_STATE_SECRET_ID;
    expect(secretId).toBeDefined();
    const secrets = new SecretsManagerClient({});
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    secrets.destroy();
    const keys = deriveApiKeys(SecretString ?? "");
    const { token } = signOauthState(
      keys.oauthState,
      { userId: api.userId, memberGuid: member.guid },
      new Date(Date.now() - 11 * 60 * 1000),
    );

    // Act
    const res = await browserGet(
      `${app.apiUrl}/v1/oauth/callback/${token}?status=success&member_guid=${member.guid}`,
    );

    // Assess
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("location")).toBeNull();
    expect(linksOf(res.text)).toEqual([APP_URL]);
    expect((await api.get(`/v1/members/${member.guid}`)).body.member.sync.status).toBe("PENDING");
  });

  it("needs no token, but ignores one: the callback is the only public route", async () => {
    const res = await browserGet(`${app.apiUrl}/v1/oauth/callback/abc`);

    expect(res.status).toBe(400);
    expect(res.text).not.toContain('"Unauthorized"');
  });
});

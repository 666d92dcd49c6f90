// OAuth as MX really behaves, end to end over HTTP: the redirect is a hint (MX says success, the
// aggregation fails: the member ends FAILED and nothing told the user it connected), and the bank's window
// is single use and expiring (SESSION_EXPIRED) or cancelled (CANCELLED): each reason gets a clear page or
// redirect and a member that says what to do.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank, browserGet as rawBrowserGet } from "../local/client";
import type { RunningAll } from "../local/start";
import { APP_URL, type ApiClient, browserGet, clientFor, startE2e, waitForSync } from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e();
});
afterAll(async () => {
  await app?.close();
});

const sandbox = () => {
  const running = app.stack.sandbox;
  if (!running) throw new Error("these tests run on the sandbox");
  return running;
};

async function createOauthMember(api: ApiClient, redirectUrl: string | null) {
  const res = await api.post("/v1/members", {
    institution_code: "mx_bank_oauth",
    is_oauth: true,
    ...(redirectUrl ? { redirect_url: redirectUrl } : {}),
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as { guid: string; oauth_window_uri: string };
}

/** Opens the bank's page, then (after `before`) clicks `link`; returns the bank's redirect to the callback. */
async function clickAtBank(windowUri: string, link: "authorize" | "cancel", before?: () => Promise<void>) {
  const page = await rawBrowserGet(windowUri);
  const href = new RegExp(`<a\\b[^>]*\\bid="${link}"[^>]*\\bhref="([^"]+)"`).exec(page.text)?.[1];
  expect(page.status).toBe(200);
  expect(href).toBeDefined();
  await before?.();
  const click = await rawBrowserGet(new URL((href ?? "").replaceAll("&amp;", "&"), windowUri).href);
  expect(click.status).toBe(302);
  const redirect = new URL(click.headers.get("location") ?? "");
  expect(redirect.href.startsWith(`${app.apiUrl}/v1/oauth/callback/`)).toBe(true);
  return redirect;
}

describe("OAuth: the redirect is a hint, the member's status decides", () => {
  it("MX redirects with success but the aggregation fails: the app hears 'received', the member ends FAILED", async () => {
    // Prepare
    const api = await clientFor(app);
    sandbox().setKnobs({ oauthAggregationFails: true });
    try {
      const withRedirect = await createOauthMember(api, APP_URL);
      const withPage = await createOauthMember(await clientFor(app), null);
      const toApp = (await decideAtBank(withRedirect.oauth_window_uri, "authorize")).redirect;
      const toPage = (await decideAtBank(withPage.oauth_window_uri, "authorize")).redirect;
      expect(toApp.searchParams.get("status")).toBe("success");

      // Act
      const redirected = await browserGet(toApp.href);
      const page = await browserGet(toPage.href);
      const done = await waitForSync(api, withRedirect.guid);

      // Assess
      expect(redirected.status).toBe(302);
      const back = new URL(redirected.headers.get("location") ?? "");
      expect(Object.fromEntries(back.searchParams)).toEqual({
        status: "received",
        member_guid: withRedirect.guid,
      });
      expect(page.status).toBe(200);
      expect(page.text).toContain("received");
      // The words the user reads (not the way-back link's URL) never claim it connected.
      expect(page.text.replace(/<[^>]*>/g, " ")).not.toMatch(/connected/i);
      expect(done.sync.status).toBe("FAILED");
      expect(done.connection_status).toBe("FAILED");
      expect(done.sync.reason).toEqual(expect.any(String));
      expect(done.sync.last_synced_at).toBeNull();
    } finally {
      sandbox().setKnobs({ oauthAggregationFails: false });
    }
  });
});

describe("OAuth: each error reason gets a clear answer", () => {
  const expireWindow = () => sandbox().clock.advance(sandbox().knobs.oauthWindowTtlMs + 1_000);

  it.each([
    ["SESSION_EXPIRED", "authorize", expireWindow, /expired before the user finished/],
    ["CANCELLED", "cancel", undefined, /cancelled at the bank/],
  ] as const)(
    "%s: the app is told the reason, the member needs the user with a reason that says it",
    async (reason, link, before, words) => {
      // Prepare
      const api = await clientFor(app);
      const member = await createOauthMember(api, APP_URL);
      const redirect = await clickAtBank(member.oauth_window_uri, link, before);
      expect(redirect.searchParams.get("error_reason")).toBe(reason);

      // Act
      const callback = await browserGet(redirect.href);
      const read = await api.getMember(member.guid);

      // Assess
      expect(callback.status).toBe(302);
      const back = new URL(callback.headers.get("location") ?? "");
      expect(Object.fromEntries(back.searchParams)).toEqual({
        status: "error",
        member_guid: member.guid,
        error_reason: reason,
      });
      expect(read.sync.status).toBe("NEEDS_USER");
      expect(read.sync.reason).toMatch(words);
    },
  );

  it("SESSION_EXPIRED without a redirect_url: the page says the sign-in expired and what to do", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createOauthMember(api, null);
    const redirect = await clickAtBank(member.oauth_window_uri, "authorize", expireWindow);

    // Act
    const page = await browserGet(redirect.href);

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain("Bank not connected");
    expect(page.text).toMatch(/expired before the user finished\. Start connecting again/);
    expect([...page.text.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => m[1])).toEqual([APP_URL]);
  });

  it("CANCELLED without a redirect_url: the page says the user cancelled and links back to the app", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createOauthMember(api, null);
    const redirect = await clickAtBank(member.oauth_window_uri, "cancel");

    // Act
    const page = await browserGet(redirect.href);

    // Assess
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/cancelled at the bank/);
    expect([...page.text.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => m[1])).toEqual([APP_URL]);
  });
});

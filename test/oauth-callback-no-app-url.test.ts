// The OAuth callback's pages on a deployment with no redirect allow-list (no app URL configured): a page
// that knows no allow-listed app has no link at all, whatever the request carries, rather than a guessed one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import type { RunningAll } from "../local/start";
import { browserGet, clientFor, startE2e, waitForSync } from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e({ redirectAllowList: [] });
});
afterAll(async () => {
  await app?.close();
});

const linksOf = (html: string) => [...html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => m[1]);

describe("the callback without a configured app URL", () => {
  it("a forged state's page offers no link, not even one from the query", async () => {
    // Prepare: a genuine window's redirect, its signature altered.
    const api = await clientFor(app);
    const created = await api.post("/v1/members", { institution_code: "mx_bank_oauth", is_oauth: true });
    expect(created.status, created.text).toBe(202);
    const { redirect } = await decideAtBank(created.body.member.oauth_window_uri, "authorize");
    const [payload = "", signature = ""] = (redirect.pathname.split("/").pop() ?? "").split(".");
    const forged = `${payload}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;

    // Act
    const res = await browserGet(
      `${app.apiUrl}/v1/oauth/callback/${forged}${redirect.search}&redirect_url=https%3A%2F%2Fevil.test%2F`,
    );

    // Assess
    expect(res.status).toBe(400);
    expect(res.text).toContain("not valid");
    expect(linksOf(res.text)).toEqual([]);
    expect(res.text).not.toContain("evil.test");
  });

  it("Deny: the page says the user declined, with no link to guess", async () => {
    // Prepare
    const api = await clientFor(app);
    const created = await api.post("/v1/members", { institution_code: "mx_bank_oauth", is_oauth: true });
    expect(created.status, created.text).toBe(202);
    const member = created.body.member as { guid: string; oauth_window_uri: string };
    const { redirect } = await decideAtBank(member.oauth_window_uri, "deny");

    // Act
    const res = await browserGet(redirect.href);

    // Assess
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/user declined/i);
    expect(linksOf(res.text)).toEqual([]);
    expect((await waitForSync(api, member.guid)).sync.reason).toMatch(/user declined/i);
  });
});

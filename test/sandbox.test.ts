// The MX sandbox over real HTTP: auth, headers, users, institutions, every mxbank password outcome, MFA,
// OAuth allow/deny, pagination, pending → posted, conflicts, bad input and faults.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MX_KNOBS,
  MXBANK_PASSWORD_GUID,
  MXBANK_USERNAME_GUID,
  type Sandbox,
  startSandbox,
} from "../local/sandbox/index";
import {
  type Call,
  type CallOptions,
  createMxbankMember,
  createUser,
  MX_ACCEPT,
  mxbankCredentials,
  mxCaller,
  pollUntilSettled,
} from "./sandbox-helpers";

const WIDE = "from_date=2000-01-01&to_date=2100-01-01";

describe("MX sandbox", () => {
  let sandbox: Sandbox;
  let call: Call;
  let userCount = 0;
  const newUser = () => createUser(call, `user-${++userCount}`);

  beforeAll(async () => {
    // MX-like knobs (not the legacy defaults), except: the whole year of history and no 3-hour throttle,
    // so paging and re-aggregation can be tested here; test/sandbox-time.test.ts covers those two.
    sandbox = await startSandbox({
      knobs: MX_KNOBS,
      aggregationMs: 80,
      seed: 7,
      historyDays: 365,
      minAggregationIntervalMs: 0,
    });
    call = mxCaller(sandbox);
  });
  afterAll(() => sandbox.close());

  describe("auth and headers", () => {
    it("answers 401 without credentials or with a wrong key", async () => {
      // Act
      const none = await call("GET", "/institutions", { auth: null });
      const wrong = await call("GET", "/institutions", {
        auth: `Basic ${Buffer.from(`${sandbox.clientId}:nope`).toString("base64")}`,
      });
      // Assess
      for (const res of [none, wrong]) {
        expect(res.status).toBe(401);
        expect(res.body.error.message).toEqual(expect.any(String));
      }
      expect(none.text).not.toContain(sandbox.apiKey);
    });

    it.each([
      ["missing", undefined],
      ["plain JSON", "application/json"],
      ["another version", "application/vnd.mx.api.v2+json"],
    ])("answers 406 when Accept is %s", async (_label, accept) => {
      // Prepare
      const headers: Record<string, string> = accept === undefined ? {} : { Accept: accept };
      // Act
      const res = await fetch(`${sandbox.url}/institutions`, {
        headers: {
          ...headers,
          Authorization: `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.apiKey}`).toString("base64")}`,
        },
      });
      // Assess
      expect(res.status).toBe(406);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Accept/);
    });

    it("answers 404 for an unknown path", async () => {
      const res = await call("GET", "/nope");
      expect(res.status).toBe(404);
      expect(res.body.error.message).toEqual(expect.any(String));
    });
  });

  describe("users", () => {
    it("creates a user, finds it by id, reads and deletes it", async () => {
      // Act
      const created = await call("POST", "/users", {
        body: { user: { id: "alice", email: "a@example.com" } },
      });
      const guid = created.body.user.guid as string;
      const found = await call("GET", "/users?id=alice");
      const notFound = await call("GET", "/users?id=nobody");
      const read = await call("GET", `/users/${guid}`);
      const deleted = await call("DELETE", `/users/${guid}`);
      const readAgain = await call("GET", `/users/${guid}`);
      // Assess
      expect(created.status).toBe(200);
      expect(guid).toMatch(/^USR-[0-9a-f-]{36}$/);
      expect(created.body.user).toMatchObject({ id: "alice", email: "a@example.com", is_disabled: false });
      expect(found.body.users).toEqual([created.body.user]);
      expect(found.body.pagination).toEqual({
        current_page: 1,
        per_page: 25,
        total_entries: 1,
        total_pages: 1,
      });
      expect(notFound.body.users).toEqual([]);
      expect(read.body).toEqual(created.body);
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe("");
      expect(readAgain.status).toBe(404);
    });

    it("answers 409 when the id is taken", async () => {
      // Prepare
      await call("POST", "/users", { body: { user: { id: "taken" } } });
      // Act
      const again = await call("POST", "/users", { body: { user: { id: "taken" } } });
      // Assess
      expect(again.status).toBe(409);
      expect(again.body.error.message).toMatch(/already exists/);
    });
  });

  describe("institutions", () => {
    it("searches by name, case-insensitively, with the supports_* filters", async () => {
      // Act
      const mx = await call("GET", "/institutions?name=MX%20bank");
      const identified = await call(
        "GET",
        "/institutions?supports_account_identification=true&records_per_page=100",
      );
      const all = await call("GET", "/institutions?records_per_page=100");
      // Assess
      expect(mx.body.institutions.map((i: { code: string }) => i.code)).toEqual(["mxbank", "mx_bank_oauth"]);
      expect(identified.body.institutions.length).toBeLessThan(all.body.institutions.length);
      expect(
        identified.body.institutions.every(
          (i: { supports_account_identification: boolean }) => i.supports_account_identification,
        ),
      ).toBe(true);
    });

    it("lists mxbank's stable credential fields and 404s an unknown code", async () => {
      // Act
      const creds = await call("GET", "/institutions/mxbank/credentials");
      const unknown = await call("GET", "/institutions/no_such_bank/credentials");
      // Assess
      expect(creds.body.credentials.map((c: { guid: string }) => c.guid)).toEqual([
        MXBANK_USERNAME_GUID,
        MXBANK_PASSWORD_GUID,
      ]);
      expect(creds.body.credentials[0]).toMatchObject({
        field_name: "LOGIN",
        label: "Username",
        display_order: 1,
      });
      expect(unknown.status).toBe(404);
    });
  });

  describe("credential members", () => {
    it.each([
      ["password", "CONNECTED"],
      ["anything-ordinary", "CONNECTED"],
      ["BAD_REQUEST", "FAILED"],
      ["UNAUTHORIZED", "DENIED"],
      ["INVALID", "DENIED"],
      ["DISABLED", "DENIED"],
      ["LOCKED", "LOCKED"],
      ["SERVER_ERROR", "FAILED"],
      ["UNAVAILABLE", "FAILED"],
      ["challenge", "CHALLENGED"],
      ["options", "CHALLENGED"],
      ["image", "CHALLENGED"],
      ["token", "CHALLENGED"],
      ["image_options", "CHALLENGED"],
      ["multi", "CHALLENGED"],
      ["options_then_text", "CHALLENGED"],
    ])("password %s ends %s", async (password, expected) => {
      // Prepare
      const user = await newUser();
      // Act
      const member = await createMxbankMember(call, user, password);
      const status = await pollUntilSettled(call, user, member);
      // Assess
      expect(status.connection_status).toBe(expected);
      // MX: is_being_aggregated stays true while CHALLENGED (the job waits for the answer).
      expect(status.is_being_aggregated).toBe(expected === "CHALLENGED");
      if (expected === "CONNECTED") {
        expect(status.successfully_aggregated_at).toEqual(expect.any(String));
        expect(status.has_processed_transactions).toBe(true);
      } else {
        expect(status.successfully_aggregated_at).toBeNull();
      }
    });

    it("denies a wrong username", async () => {
      // Prepare
      const user = await newUser();
      const created = await call("POST", `/users/${user}/members`, {
        body: {
          member: { institution_code: "mxbank", credentials: mxbankCredentials("password", "someone") },
        },
      });
      // Act
      const status = await pollUntilSettled(call, user, created.body.member.guid);
      // Assess
      expect(status.connection_status).toBe("DENIED");
    });

    it("shows the job in progress: created/connected while is_being_aggregated, then done", async () => {
      // Prepare
      const user = await newUser();
      // Act
      const created = await call("POST", `/users/${user}/members`, {
        body: {
          member: { institution_code: "mxbank", credentials: mxbankCredentials("password"), id: "mine" },
        },
      });
      const final = await pollUntilSettled(call, user, created.body.member.guid);
      const listed = await call("GET", `/users/${user}/members`);
      // Assess
      expect(created.status).toBe(202);
      expect(created.body.member).toMatchObject({
        connection_status: "CREATED",
        is_being_aggregated: true,
        id: "mine",
      });
      expect(final).toMatchObject({ connection_status: "CONNECTED", is_being_aggregated: false });
      expect(listed.body.members).toHaveLength(1);
      expect(listed.body.members[0]).toMatchObject({ id: "mine", guid: created.body.member.guid });
    });

    it("skip_aggregation creates an idle member that aggregate then connects", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password", { skip_aggregation: true });
      // Act
      const idle = await call("GET", `/users/${user}/members/${member}/status`);
      const accountsBefore = await call("GET", `/users/${user}/members/${member}/accounts`);
      await call("POST", `/users/${user}/members/${member}/aggregate`);
      const final = await pollUntilSettled(call, user, member);
      const accountsAfter = await call("GET", `/users/${user}/members/${member}/accounts`);
      // Assess
      expect(idle.body.member).toMatchObject({ connection_status: "CREATED", is_being_aggregated: false });
      expect(accountsBefore.body.accounts).toEqual([]);
      expect(final.connection_status).toBe("CONNECTED");
      expect(accountsAfter.body.accounts).toHaveLength(3);
    });

    it("never returns the credentials", async () => {
      // Prepare
      const user = await newUser();
      const secret = "s3cret-Passw0rd";
      // Act
      const member = await createMxbankMember(call, user, secret);
      const texts = await Promise.all(
        ["", "/status", "/challenges"].map(
          async (p) => (await call("GET", `/users/${user}/members/${member}${p}`)).text,
        ),
      );
      const list = await call("GET", `/users/${user}/members`);
      // Assess
      for (const text of [...texts, list.text]) expect(text).not.toContain(secret);
    });

    it("answers 409 for the same user, institution and credentials", async () => {
      // Prepare
      const user = await newUser();
      await createMxbankMember(call, user, "password");
      // Act
      const again = await call("POST", `/users/${user}/members`, {
        body: { member: { institution_code: "mxbank", credentials: mxbankCredentials("password") } },
      });
      const otherUser = await newUser();
      const elsewhere = await call("POST", `/users/${otherUser}/members`, {
        body: { member: { institution_code: "mxbank", credentials: mxbankCredentials("password") } },
      });
      // Assess
      expect(again.status).toBe(409);
      expect(elsewhere.status).toBe(202);
    });

    it("answers 202 to aggregate while an aggregation runs (nothing new starts), 409 to identify", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      // Act
      const during = await call("POST", `/users/${user}/members/${member}/aggregate`);
      const identifyDuring = await call("POST", `/users/${user}/members/${member}/identify`);
      const first = await pollUntilSettled(call, user, member);
      const after = await call("POST", `/users/${user}/members/${member}/aggregate`);
      const second = await pollUntilSettled(call, user, member);
      // Assess
      expect(during.status).toBe(202);
      expect(during.body.member.is_being_aggregated).toBe(true);
      expect(identifyDuring.status).toBe(409);
      expect(after.status).toBe(202);
      expect(after.body.member.is_being_aggregated).toBe(true);
      expect(second.connection_status).toBe("CONNECTED");
      expect(Date.parse(second.successfully_aggregated_at)).toBeGreaterThanOrEqual(
        Date.parse(first.successfully_aggregated_at),
      );
    });

    it("404s a member of another user, and an unknown member", async () => {
      // Prepare
      const owner = await newUser();
      const stranger = await newUser();
      const member = await createMxbankMember(call, owner, "password");
      // Act
      const results = await Promise.all([
        call("GET", `/users/${stranger}/members/${member}`),
        call("GET", `/users/${stranger}/members/${member}/status`),
        call("GET", `/users/${stranger}/members/${member}/transactions`),
        call("DELETE", `/users/${stranger}/members/${member}`),
        call("GET", `/users/${owner}/members/MBR-00000000-0000-0000-0000-000000000000`),
        call("GET", "/users/USR-00000000-0000-0000-0000-000000000000/members"),
      ]);
      // Assess
      expect(results.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404]);
    });

    it("deletes a member (204), then 404s it", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      // Act
      const deleted = await call("DELETE", `/users/${user}/members/${member}`);
      const read = await call("GET", `/users/${user}/members/${member}`);
      // Assess
      expect(deleted.status).toBe(204);
      expect(read.status).toBe(404);
    });
  });

  describe("MFA", () => {
    it.each([
      ["challenge", "TEXT"],
      ["options", "OPTIONS"],
      ["image", "IMAGE_DATA"],
    ])("%s: answering correct connects", async (password, type) => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, password);
      const challenged = await pollUntilSettled(call, user, member);
      const listed = await call("GET", `/users/${user}/members/${member}/challenges`);
      const challenge = listed.body.challenges[0];
      // Act
      const resumed = await call("PUT", `/users/${user}/members/${member}/resume`, {
        body: { member: { challenges: [{ guid: challenge.guid, value: "correct" }] } },
      });
      const final = await pollUntilSettled(call, user, member);
      const afterwards = await call("GET", `/users/${user}/members/${member}/challenges`);
      // Assess
      expect(challenged.connection_status).toBe("CHALLENGED");
      expect(challenged.challenges).toEqual(listed.body.challenges);
      expect(listed.status).toBe(200);
      expect(challenge.type).toBe(type);
      if (type === "OPTIONS")
        expect(challenge.options.map((o: { value: string }) => o.value)).toContain("correct");
      if (type === "IMAGE_DATA") expect(challenge.image_data).toMatch(/^data:image\/png;base64,/);
      expect(resumed.status).toBe(202);
      expect(resumed.body.member).toMatchObject({ connection_status: "RESUMED", is_being_aggregated: true });
      expect(challenged.is_being_aggregated).toBe(true);
      expect(final.connection_status).toBe("CONNECTED");
      expect(afterwards.status).toBe(204);
    });

    it.each(["challenge", "options", "image"])("%s: a wrong answer is REJECTED", async (password) => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, password);
      const challenged = await pollUntilSettled(call, user, member);
      // Act
      const resumed = await call("PUT", `/users/${user}/members/${member}/resume`, {
        body: { member: { challenges: [{ guid: challenged.challenges[0].guid, value: "wrong" }] } },
      });
      const final = await pollUntilSettled(call, user, member);
      // Assess
      expect(resumed.status).toBe(202);
      expect(final.connection_status).toBe("REJECTED");
    });

    it("answers 204 for challenges when there are none, and 405 to resume then (MX)", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      await pollUntilSettled(call, user, member);
      // Act
      const challenges = await call("GET", `/users/${user}/members/${member}/challenges`);
      const resume = await call("PUT", `/users/${user}/members/${member}/resume`, {
        body: { member: { challenges: [{ guid: "CRD-x", value: "correct" }] } },
      });
      // Assess
      expect(challenges.status).toBe(204);
      expect(challenges.text).toBe("");
      expect(resume.status).toBe(405);
    });
  });

  describe("OAuth", () => {
    async function createOauthMember(user: string, extra: Record<string, unknown> = {}) {
      return call("POST", `/users/${user}/members`, {
        body: {
          member: { institution_code: "mx_bank_oauth", is_oauth: true, id: "oauth-1" },
          client_redirect_url: "https://app.example/callback?from=mx",
          referral_source: "APP",
          ...extra,
        },
      });
    }

    async function openWindow(uri: string) {
      const page = await fetch(uri);
      const html = await page.text();
      const href = (id: string) => new RegExp(`<a id="${id}" href="([^"]+)"`).exec(html)?.[1];
      return { status: page.status, html, authorize: href("authorize"), deny: href("deny") };
    }

    it("authorize: redirects with status=success, then the member aggregates to CONNECTED", async () => {
      // Prepare
      const user = await newUser();
      const created = await createOauthMember(user);
      const { guid, oauth_window_uri: uri } = created.body.member;
      // Act
      const window = await openWindow(uri);
      const redirect = await fetch(window.authorize ?? "", { redirect: "manual" });
      const final = await pollUntilSettled(call, user, guid);
      // Assess
      expect(created.status).toBe(202);
      expect(created.body.member).toMatchObject({
        connection_status: "PENDING",
        is_oauth: true,
        is_being_aggregated: false,
      });
      expect(uri.startsWith(`${sandbox.url}/oauth/window/`)).toBe(true);
      expect(window.status).toBe(200);
      expect(window.authorize).toBeDefined();
      expect(redirect.status).toBe(302);
      const location = new URL(redirect.headers.get("location") ?? "");
      expect(`${location.origin}${location.pathname}`).toBe("https://app.example/callback");
      expect(Object.fromEntries(location.searchParams)).toEqual({
        from: "mx",
        status: "success",
        member_guid: guid,
      });
      expect(final.connection_status).toBe("CONNECTED");
      expect(final.successfully_aggregated_at).toEqual(expect.any(String));
    });

    it("deny: redirects with status=error&error_reason=DENIED and the member is DENIED", async () => {
      // Prepare
      const user = await newUser();
      const created = await createOauthMember(user);
      const { guid, oauth_window_uri: uri } = created.body.member;
      // Act
      const window = await openWindow(uri);
      const redirect = await fetch(window.deny ?? "", { redirect: "manual" });
      const status = await call("GET", `/users/${user}/members/${guid}/status`);
      // Assess
      const location = new URL(redirect.headers.get("location") ?? "");
      expect(redirect.status).toBe(302);
      expect(location.searchParams.get("status")).toBe("error");
      expect(location.searchParams.get("member_guid")).toBe(guid);
      expect(location.searchParams.get("error_reason")).toBe("DENIED");
      expect(status.body.member.connection_status).toBe("DENIED");
    });

    it("the window URI and each decision link work once", async () => {
      // Prepare
      const user = await newUser();
      const created = await createOauthMember(user);
      const uri = created.body.member.oauth_window_uri as string;
      const window = await openWindow(uri);
      await fetch(window.authorize ?? "", { redirect: "manual" });
      // Act
      const again = await fetch(uri);
      const decideAgain = await fetch(window.deny ?? "", { redirect: "manual" });
      // Assess
      expect(again.status).toBeGreaterThanOrEqual(400);
      expect(again.status).toBeLessThan(500);
      expect(decideAgain.status).toBeGreaterThanOrEqual(400);
      expect(decideAgain.status).toBeLessThan(500);
    });

    it("GET …/oauth_window_uri issues a fresh working URI", async () => {
      // Prepare
      const user = await newUser();
      const created = await createOauthMember(user);
      const guid = created.body.member.guid as string;
      await openWindow(created.body.member.oauth_window_uri);
      // Act
      const fresh = await call(
        "GET",
        `/users/${user}/members/${guid}/oauth_window_uri?referral_source=APP&client_redirect_url=${encodeURIComponent("myapp://done")}`,
      );
      const window = await openWindow(fresh.body.member.oauth_window_uri);
      const redirect = await fetch(window.authorize ?? "", { redirect: "manual" });
      // Assess
      expect(fresh.status).toBe(200);
      expect(fresh.body.member.guid).toBe(guid);
      expect(fresh.body.member.oauth_window_uri).not.toBe(created.body.member.oauth_window_uri);
      expect(window.status).toBe(200);
      expect(redirect.headers.get("location")).toBe(`myapp://done?status=success&member_guid=${guid}`);
    });

    it("shows a plain page instead of redirecting for referral_source BROWSER", async () => {
      // Prepare
      const user = await newUser();
      const created = await createOauthMember(user, { referral_source: "BROWSER" });
      const window = await openWindow(created.body.member.oauth_window_uri);
      // Act
      const result = await fetch(window.authorize ?? "", { redirect: "manual" });
      // Assess
      expect(result.status).toBe(200);
      expect(await result.text()).toContain('id="success"');
    });
  });

  describe("accounts, owners and transactions", () => {
    it("lists accounts of several types, owners after identify, transactions newest first", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      await pollUntilSettled(call, user, member);
      const ownersBefore = await call("GET", `/users/${user}/members/${member}/account_owners`);
      // Act
      const identify = await call("POST", `/users/${user}/members/${member}/identify`);
      await pollUntilSettled(call, user, member);
      const accounts = await call("GET", `/users/${user}/members/${member}/accounts`);
      const owners = await call("GET", `/users/${user}/members/${member}/account_owners`);
      const transactions = await call(
        "GET",
        `/users/${user}/members/${member}/transactions?${WIDE}&records_per_page=1000`,
      );
      const byAccount = await call(
        "GET",
        `/users/${user}/accounts/${accounts.body.accounts[0].guid}/transactions?${WIDE}&records_per_page=1000`,
      );
      // Assess
      expect(ownersBefore.body.account_owners).toEqual([]);
      expect(identify.status).toBe(202);
      const types = accounts.body.accounts.map((a: { type: string }) => a.type);
      expect(types).toEqual(["CHECKING", "SAVINGS", "CREDIT_CARD"]);
      const ownerAccounts = new Set(
        owners.body.account_owners.map((o: { account_guid: string }) => o.account_guid),
      );
      expect(ownerAccounts.size).toBe(3);
      expect(transactions.body.pagination.total_entries).toBe(3 * 120);
      expect(byAccount.body.pagination.total_entries).toBe(120);
      const dates = transactions.body.transactions.map((t: { date: string }) => t.date);
      expect(dates).toEqual([...dates].sort().reverse());
      const oldest = Date.parse(dates.at(-1));
      expect(Date.now() - oldest).toBeLessThanOrEqual(366 * 86_400_000);
      const pending = transactions.body.transactions.filter(
        (t: { status: string }) => t.status === "PENDING",
      );
      expect(pending).toHaveLength(3 * 3);
      expect(pending.every((t: { posted_at: string | null }) => t.posted_at === null)).toBe(true);
    });

    it("filters by from_date/to_date and defaults to 120 days back", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      await pollUntilSettled(call, user, member);
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      // Act
      const windowed = await call(
        "GET",
        `/users/${user}/members/${member}/transactions?from_date=${day(-30)}&to_date=${day(-10)}&records_per_page=1000`,
      );
      const byDefault = await call(
        "GET",
        `/users/${user}/members/${member}/transactions?records_per_page=1000`,
      );
      const all = await call("GET", `/users/${user}/members/${member}/transactions?${WIDE}`);
      const badDate = await call("GET", `/users/${user}/members/${member}/transactions?from_date=2024-13-40`);
      // Assess
      const dates = windowed.body.transactions.map((t: { date: string }) => t.date);
      expect(dates.length).toBeGreaterThan(0);
      expect(dates.every((d: string) => d >= day(-30) && d <= day(-10))).toBe(true);
      expect(windowed.body.pagination.total_entries).toBe(dates.length);
      const defaultDates = byDefault.body.transactions.map((t: { date: string }) => t.date);
      expect(defaultDates.every((d: string) => d >= day(-120))).toBe(true);
      expect(byDefault.body.pagination.total_entries).toBeLessThan(all.body.pagination.total_entries);
      expect(badDate.status).toBe(400);
    });

    it("posts pending transactions with NEW guids on the next aggregation; same total", async () => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "password");
      await pollUntilSettled(call, user, member);
      const path = `/users/${user}/members/${member}/transactions?${WIDE}&records_per_page=1000`;
      const before = (await call("GET", path)).body;
      // Act
      await call("POST", `/users/${user}/members/${member}/aggregate`);
      await pollUntilSettled(call, user, member);
      const after = (await call("GET", path)).body;
      // Assess
      type Trn = { guid: string; status: string; amount: number; date: string; account_guid: string };
      const pendingBefore = before.transactions.filter((t: Trn) => t.status === "PENDING");
      const afterGuids = new Set(after.transactions.map((t: Trn) => t.guid));
      expect(pendingBefore.length).toBe(9);
      expect(after.pagination.total_entries).toBe(before.pagination.total_entries);
      expect(after.transactions.filter((t: Trn) => t.status === "PENDING")).toEqual([]);
      expect(pendingBefore.some((t: Trn) => afterGuids.has(t.guid))).toBe(false);
      const postedNow = after.transactions.filter(
        (t: Trn) => !before.transactions.some((b: Trn) => b.guid === t.guid),
      );
      expect(postedNow.map((t: Trn) => [t.account_guid, t.date, t.amount])).toEqual(
        pendingBefore.map((t: Trn) => [t.account_guid, t.date, t.amount]),
      );
    });
  });

  describe("pagination", () => {
    let big: Sandbox;
    let bigCall: Call;
    let base = "";

    beforeAll(async () => {
      // A whole year of history visible (MX's standard ~90 days is tested in sandbox-time.test.ts).
      big = await startSandbox({
        aggregationMs: 0,
        transactionsPerAccount: 1000,
        accountsPerMember: 3,
        historyDays: 365,
      });
      bigCall = mxCaller(big);
      const user = await createUser(bigCall, "pager");
      const member = await createMxbankMember(bigCall, user, "password");
      await pollUntilSettled(bigCall, user, member);
      base = `/users/${user}/members/${member}/transactions?${WIDE}`;
    });
    afterAll(() => big.close());

    it.each([
      ["", 1, 25, 25],
      ["&records_per_page=10", 1, 10, 10],
      ["&records_per_page=9", 1, 10, 10],
      ["&records_per_page=1000", 1, 1000, 1000],
      ["&records_per_page=1001", 1, 25, 25],
      ["&records_per_page=abc", 1, 25, 25],
      ["&records_per_page=333&page=10", 10, 333, 3],
      ["&records_per_page=1000&page=3", 3, 1000, 1000],
      ["&records_per_page=1000&page=4", 4, 1000, 0],
      ["&page=0", 1, 25, 25],
    ])("%s → page %i, per_page %i, %i records", async (query, page, perPage, count) => {
      // Act
      const res = await bigCall("GET", `${base}${query}`);
      // Assess
      expect(res.status).toBe(200);
      expect(res.body.transactions).toHaveLength(count);
      expect(res.body.pagination).toEqual({
        current_page: page,
        per_page: perPage,
        total_entries: 3000,
        total_pages: Math.ceil(3000 / perPage),
      });
    });

    it("pages cover every transaction exactly once, newest first", async () => {
      // Act
      const pages = await Promise.all(
        [1, 2, 3].map((p) => bigCall("GET", `${base}&records_per_page=1000&page=${p}`)),
      );
      // Assess
      const all = pages.flatMap((p) => p.body.transactions as { guid: string; date: string }[]);
      expect(new Set(all.map((t) => t.guid)).size).toBe(3000);
      const dates = all.map((t) => t.date);
      expect(dates).toEqual([...dates].sort().reverse());
    });

    it("institutions allow 10..100 per page", async () => {
      // Act
      const hundred = await bigCall("GET", "/institutions?records_per_page=100");
      const over = await bigCall("GET", "/institutions?records_per_page=101");
      const ten = await bigCall("GET", "/institutions?records_per_page=10&page=2");
      // Assess
      expect(hundred.body.pagination.per_page).toBe(100);
      expect(over.body.pagination.per_page).toBe(25);
      expect(ten.body.pagination).toMatchObject({ current_page: 2, per_page: 10 });
      expect(ten.body.institutions.length).toBe(hundred.body.institutions.length - 10);
    });

    it("serves a page of 1000 out of 100,000 transactions per account", async () => {
      // Prepare
      big.setKnobs({ transactionsPerAccount: 100_000, accountsPerMember: 2 });
      const user = await createUser(bigCall, "huge");
      const member = await createMxbankMember(bigCall, user, "password");
      await pollUntilSettled(bigCall, user, member);
      // Act
      const last = await bigCall(
        "GET",
        `/users/${user}/members/${member}/transactions?${WIDE}&records_per_page=1000&page=200`,
      );
      // Assess
      expect(last.body.pagination).toEqual({
        current_page: 200,
        per_page: 1000,
        total_entries: 200_000,
        total_pages: 200,
      });
      expect(last.body.transactions).toHaveLength(1000);
    });
  });

  describe("determinism", () => {
    it("the same seed and names give the same guids and data; another seed does not", async () => {
      // Prepare
      const worlds = await Promise.all([1, 1, 2].map((seed) => startSandbox({ seed, aggregationMs: 0 })));
      try {
        // Act
        const pages = await Promise.all(
          worlds.map(async (world) => {
            const c = mxCaller(world);
            const user = await createUser(c, "same-user");
            const member = await createMxbankMember(c, user, "password", { id: "same-member" });
            await pollUntilSettled(c, user, member);
            const res = await c(
              "GET",
              `/users/${user}/members/${member}/transactions?${WIDE}&records_per_page=50`,
            );
            return { user, member, transactions: res.body.transactions };
          }),
        );
        // Assess
        const [a, b, c] = pages;
        expect(b).toEqual(a);
        expect(c?.user).not.toBe(a?.user);
        expect(c?.transactions[0].guid).not.toBe(a?.transactions[0].guid);
      } finally {
        await Promise.all(worlds.map((w) => w.close()));
      }
    });
  });

  describe("bad input", () => {
    const cases: [string, number, string, string, CallOptions][] = [
      ["malformed JSON", 400, "POST", "/users", { rawBody: "{not json" }],
      ["an array body", 400, "POST", "/users", { rawBody: "[1,2]" }],
      ["a string body", 400, "POST", "/users", { rawBody: '"user"' }],
      ["null body", 400, "POST", "/users", { rawBody: "null" }],
      ["no body", 400, "POST", "/users", {}],
      ["no user wrapper", 400, "POST", "/users", { body: { id: "x" } }],
      ["user not an object", 400, "POST", "/users", { body: { user: "x" } }],
      ["empty user", 400, "POST", "/users", { body: { user: {} } }],
      ["id of the wrong type", 422, "POST", "/users", { body: { user: { id: 5 } } }],
      ["is_disabled of the wrong type", 422, "POST", "/users", { body: { user: { is_disabled: "yes" } } }],
      [
        "text/plain body",
        415,
        "POST",
        "/users",
        { rawBody: '{"user":{"id":"t"}}', headers: { "Content-Type": "text/plain" } },
      ],
      [
        "oversized body",
        413,
        "POST",
        "/users",
        { rawBody: JSON.stringify({ user: { id: "x".repeat(2_000_000) } }) },
      ],
    ];

    it.each(cases)("users: %s → %i", async (_label, expected, method, path, options) => {
      // Act
      const res = await call(method, path, options);
      // Assess
      expect(res.status).toBe(expected);
      expect(res.body.error.message).toEqual(expect.any(String));
    });

    it.each([
      ["no member", 400, {}],
      ["member not an object", 400, { member: [] }],
      ["no institution_code", 400, { member: { credentials: [] } }],
      ["institution_code of the wrong type", 422, { member: { institution_code: 7 } }],
      ["unknown institution", 422, { member: { institution_code: "nope", credentials: [] } }],
      ["no credentials", 400, { member: { institution_code: "mxbank" } }],
      ["credentials not an array", 422, { member: { institution_code: "mxbank", credentials: "mxuser" } }],
      [
        "credential without value",
        422,
        { member: { institution_code: "mxbank", credentials: [{ guid: MXBANK_USERNAME_GUID }] } },
      ],
      [
        "unknown credential guid",
        422,
        { member: { institution_code: "mxbank", credentials: [{ guid: "CRD-x", value: "a" }] } },
      ],
      [
        "missing password",
        422,
        {
          member: {
            institution_code: "mxbank",
            credentials: [{ guid: MXBANK_USERNAME_GUID, value: "mxuser" }],
          },
        },
      ],
      ["OAuth on mxbank", 422, { member: { institution_code: "mxbank", is_oauth: true } }],
      ["mx_bank_oauth without is_oauth", 422, { member: { institution_code: "mx_bank_oauth" } }],
      [
        "bad referral_source",
        422,
        { member: { institution_code: "mx_bank_oauth", is_oauth: true }, referral_source: "TV" },
      ],
    ])("create member: %s → %i", async (_label, expected, body) => {
      // Prepare
      const user = await newUser();
      // Act
      const res = await call("POST", `/users/${user}/members`, { body });
      // Assess
      expect(res.status).toBe(expected);
      expect(res.body.error.message).toEqual(expect.any(String));
      expect(res.text).not.toContain("mxuser");
    });

    it.each([
      ["no member", 400, {}],
      ["no challenges", 400, { member: {} }],
      ["challenges not an array", 422, { member: { challenges: "correct" } }],
      ["answer of the wrong type", 422, { member: { challenges: [{ guid: "CRD-x", value: 1 }] } }],
      ["unknown challenge guid", 422, { member: { challenges: [{ guid: "CRD-x", value: "correct" }] } }],
    ])("resume: %s → %i", async (_label, expected, body) => {
      // Prepare
      const user = await newUser();
      const member = await createMxbankMember(call, user, "challenge");
      await pollUntilSettled(call, user, member);
      // Act
      const res = await call("PUT", `/users/${user}/members/${member}/resume`, { body });
      const status = await call("GET", `/users/${user}/members/${member}/status`);
      // Assess
      expect(res.status).toBe(expected);
      expect(res.body.error.message).toEqual(expect.any(String));
      expect(status.body.member.connection_status).toBe("CHALLENGED");
    });
  });

  describe("faults", () => {
    let faulty: Sandbox;
    let faultyCall: Call;

    beforeAll(async () => {
      faulty = await startSandbox({ aggregationMs: 0 });
      faultyCall = mxCaller(faulty);
    });
    afterAll(() => faulty.close());

    it("answers 429 with Retry-After, before handling (a faulted POST has no effect)", async () => {
      // Prepare
      faulty.setKnobs({ faults: { rate429: 1, retryAfterSeconds: 7 } });
      // Act
      const res = await faultyCall("POST", "/users", { body: { user: { id: "ghost" } } });
      faulty.setKnobs({ faults: { rate429: 0 } });
      const users = await faultyCall("GET", "/users?id=ghost");
      // Assess
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.body.error.message).toEqual(expect.any(String));
      expect(users.body.users).toEqual([]);
    });

    it("answers 500/503 at rate5xx and counts statuses in stats()", async () => {
      // Prepare
      faulty.setKnobs({ faults: { rate5xx: 1 } });
      const before = faulty.stats();
      // Act
      const results = await Promise.all(Array.from({ length: 20 }, () => faultyCall("GET", "/institutions")));
      faulty.setKnobs({ faults: { rate5xx: 0 } });
      const after = faulty.stats();
      // Assess
      const statuses = new Set(results.map((r) => r.status));
      expect([...statuses].every((s) => s === 500 || s === 503)).toBe(true);
      expect(after.requests - before.requests).toBe(20);
      const fivexx = (after.byStatus[500] ?? 0) + (after.byStatus[503] ?? 0);
      expect(fivexx - ((before.byStatus[500] ?? 0) + (before.byStatus[503] ?? 0))).toBe(20);
    });

    it("accepts knobs flat or nested, flat winning", async () => {
      // Act
      const other = await startSandbox({
        knobs: { transactionsPerAccount: 5, accountsPerMember: 1 },
        accountsPerMember: 2,
      });
      const knobs = other.knobs;
      await other.close();
      // Assess
      expect(knobs).toMatchObject({ transactionsPerAccount: 5, accountsPerMember: 2 });
    });

    it("still answers with added latency", async () => {
      // Prepare
      faulty.setKnobs({ faults: { latencyMs: 5 } });
      // Act
      const res = await faultyCall("GET", "/institutions/mxbank");
      faulty.setKnobs({ faults: { latencyMs: 0 } });
      // Assess
      expect(res.status).toBe(200);
    });

    it("rejects knobs out of range", () => {
      expect(() => faulty.setKnobs({ transactionsPerAccount: 100_001 })).toThrow(/transactionsPerAccount/);
      expect(() => faulty.setKnobs({ faults: { rate429: 2 } })).toThrow(/rate429/);
    });
  });

  it("sends MX's media type", async () => {
    const res = await call("GET", "/institutions", { headers: { Accept: `${MX_ACCEPT}, */*;q=0.1` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/vnd\.mx\.api\.v1\+json/);
  });
});

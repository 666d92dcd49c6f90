// The MX sandbox's time-dependent MX behaviours over real HTTP, on a clock tests move: background
// aggregation every 24 h with new data, the 3-hour rule, delayed job start, challenge expiry, MFA rounds,
// history depth and extend_history, products outside the contract, jobs already running, credential
// updates, OAuth window expiry, and 429 without Retry-After.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_KNOBS, type KnobsPatch, MX_KNOBS, type Sandbox, startSandbox } from "../local/sandbox/index";
import {
  type Call,
  createMxbankMember,
  createUser,
  mxbankCredentials,
  mxCaller,
  pollUntilSettled,
} from "./sandbox-helpers";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WIDE = "from_date=2000-01-01&to_date=2100-01-01&records_per_page=1000";

type Trn = { guid: string; status: string; date: string; updated_at: string; account_guid: string };

/** A sandbox with MX-like knobs plus the given ones; `world()` gives a caller and a fresh user. */
async function mxSandbox(knobs: KnobsPatch = {}) {
  const sandbox = await startSandbox({ knobs: MX_KNOBS, aggregationMs: 20, seed: 11, ...knobs });
  const call = mxCaller(sandbox);
  let users = 0;
  return { sandbox, call, newUser: () => createUser(call, `time-user-${++users}`) };
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe("MX sandbox: time, jobs and history", () => {
  let sandbox: Sandbox;
  let call: Call;
  let newUser: () => Promise<string>;

  beforeAll(async () => {
    ({ sandbox, call, newUser } = await mxSandbox());
  });
  afterAll(() => sandbox.close());

  async function connected(password = "password") {
    const user = await newUser();
    const member = await createMxbankMember(call, user, password);
    const status = await pollUntilSettled(call, user, member);
    return { user, member, status, base: `/users/${user}/members/${member}` };
  }

  async function answer(base: string, guid: string, value: string) {
    return call("PUT", `${base}/resume`, { body: { member: { challenges: [{ guid, value }] } } });
  }

  describe("clock and background aggregation", () => {
    it("moves the sandbox's now; real time keeps running", async () => {
      // Prepare
      const before = sandbox.clock.now();
      // Act
      await sandbox.advanceTime(HOUR);
      // Assess
      expect(sandbox.clock.now() - before).toBeGreaterThanOrEqual(HOUR);
      expect(sandbox.clock.offsetMs()).toBeGreaterThanOrEqual(HOUR);
    });

    it("aggregates a CONNECTED member every 24 h with new data: new and posted transactions, moved balances", async () => {
      // Prepare
      const { base, status } = await connected();
      const first = Date.parse(status.successfully_aggregated_at);
      const before = (await call("GET", `${base}/transactions?${WIDE}`)).body;
      const balancesBefore = (await call("GET", `${base}/accounts`)).body.accounts.map(
        (a: { balance: number }) => a.balance,
      );
      const pendingBefore = before.transactions.filter((t: Trn) => t.status === "PENDING");
      const mark = new Date(sandbox.clock.now()).toISOString();
      // Act
      await sandbox.advanceTime(3 * DAY + HOUR);
      const after = (await call("GET", `${base}/status`)).body.member;
      const all = (await call("GET", `${base}/transactions?${WIDE}`)).body;
      const changed = (
        await call("GET", `${base}/transactions?${WIDE}&from_updated_at=${encodeURIComponent(mark)}`)
      ).body;
      const balancesAfter = (await call("GET", `${base}/accounts`)).body.accounts.map(
        (a: { balance: number }) => a.balance,
      );
      // Assess: three background runs (24, 48, 72 h after the first), none in the foreground.
      const last = Date.parse(after.successfully_aggregated_at);
      expect(after.connection_status).toBe("CONNECTED");
      expect(after.is_being_aggregated).toBe(false);
      expect(Math.round((last - first) / DAY)).toBe(3);
      const guidsAfter = new Set(all.transactions.map((t: Trn) => t.guid));
      expect(pendingBefore.length).toBeGreaterThan(0);
      expect(pendingBefore.some((t: Trn) => guidsAfter.has(t.guid))).toBe(false);
      const today = dayOf(sandbox.clock.now());
      expect(all.transactions[0].date).toBe(today);
      expect(all.transactions.some((t: Trn) => t.status === "PENDING" && t.date === today)).toBe(true);
      // from_updated_at reads only what the background runs created: the new days and the posted ones.
      expect(changed.pagination.total_entries).toBeGreaterThan(0);
      expect(changed.pagination.total_entries).toBeLessThan(all.pagination.total_entries);
      expect(changed.transactions.every((t: Trn) => t.updated_at >= mark.replace(/\.\d{3}Z$/, "Z"))).toBe(
        true,
      );
      expect(balancesAfter).not.toEqual(balancesBefore);
    });

    it("does not aggregate DENIED members in the background", async () => {
      // Prepare
      const { base, status } = await connected("UNAUTHORIZED");
      // Act
      await sandbox.advanceTime(2 * DAY);
      const after = (await call("GET", `${base}/status`)).body.member;
      // Assess
      expect(status.connection_status).toBe("DENIED");
      expect(after.connection_status).toBe("DENIED");
      expect(after.aggregated_at).toBe(status.aggregated_at);
    });

    it("MFA member: background runs need no answer (stored tokens); a foreground aggregate is challenged again", async () => {
      // Prepare
      const { user, member, base, status } = await connected("challenge");
      await answer(base, status.challenges[0].guid, "correct");
      const connectedStatus = await pollUntilSettled(call, user, member);
      // Act
      await sandbox.advanceTime(DAY + HOUR);
      const background = (await call("GET", `${base}/status`)).body.member;
      await sandbox.advanceTime(4 * HOUR);
      const refresh = await call("POST", `${base}/aggregate`);
      const foreground = await pollUntilSettled(call, user, member);
      // Assess
      expect(connectedStatus.connection_status).toBe("CONNECTED");
      expect(background.connection_status).toBe("CONNECTED");
      expect(Date.parse(background.successfully_aggregated_at)).toBeGreaterThan(
        Date.parse(connectedStatus.successfully_aggregated_at),
      );
      expect(refresh.status).toBe(202);
      expect(foreground.connection_status).toBe("CHALLENGED");
      expect(foreground.is_being_aggregated).toBe(true);
    });
  });

  describe("the 3-hour rule and job timing", () => {
    it("aggregate within 3 h of a success answers 202 and runs nothing; after 3 h it runs", async () => {
      // Prepare
      const { user, member, base, status } = await connected();
      // Act
      const early = await call("POST", `${base}/aggregate`);
      const earlyStatus = (await call("GET", `${base}/status`)).body.member;
      await sandbox.advanceTime(3 * HOUR + 1000);
      const later = await call("POST", `${base}/aggregate`);
      const laterStatus = await pollUntilSettled(call, user, member);
      // Assess
      expect(early.status).toBe(202);
      expect(early.body.member.is_being_aggregated).toBe(false);
      expect(earlyStatus.successfully_aggregated_at).toBe(status.successfully_aggregated_at);
      expect(later.status).toBe(202);
      expect(later.body.member.is_being_aggregated).toBe(true);
      expect(laterStatus.successfully_aggregated_at > status.successfully_aggregated_at).toBe(true);
    });

    it("knob minAggregationIntervalMs: 0 turns the rule off", async () => {
      // Prepare
      const other = await mxSandbox({ minAggregationIntervalMs: 0 });
      const user = await other.newUser();
      const member = await createMxbankMember(other.call, user, "password");
      await pollUntilSettled(other.call, user, member);
      // Act
      const again = await other.call("POST", `/users/${user}/members/${member}/aggregate`);
      await other.sandbox.close();
      // Assess
      expect(again.body.member.is_being_aggregated).toBe(true);
    });

    it("knob jobStartDelayMs: until the job starts, status shows the old state", async () => {
      // Prepare
      const other = await mxSandbox({ jobStartDelayMs: 60_000, minAggregationIntervalMs: 0 });
      const user = await other.newUser();
      // Act
      const created = await other.call("POST", `/users/${user}/members`, {
        body: { member: { institution_code: "mxbank", credentials: mxbankCredentials("password") } },
      });
      const member = created.body.member.guid as string;
      const queued = (await other.call("GET", `/users/${user}/members/${member}/status`)).body.member;
      await other.sandbox.advanceTime(60_000);
      const started = (await other.call("GET", `/users/${user}/members/${member}/status`)).body.member;
      const done = await pollUntilSettled(other.call, user, member);
      await other.sandbox.close();
      // Assess
      expect(created.body.member.is_being_aggregated).toBe(false);
      expect(queued).toMatchObject({
        connection_status: "CREATED",
        is_being_aggregated: false,
        aggregated_at: null,
      });
      expect(started.is_being_aggregated || started.connection_status === "CONNECTED").toBe(true);
      expect(done.connection_status).toBe("CONNECTED");
    });

    it("a job of the same kind already running → 202; another kind → 409; CHALLENGED still counts as running", async () => {
      // Prepare
      const { base, status } = await connected("challenge");
      // Act
      const aggregate = await call("POST", `${base}/aggregate`);
      const identify = await call("POST", `${base}/identify`);
      const history = await call("POST", `${base}/extend_history`);
      // Assess
      expect(status.connection_status).toBe("CHALLENGED");
      expect(status.is_being_aggregated).toBe(true);
      expect(aggregate.status).toBe(202);
      expect(aggregate.body.member.connection_status).toBe("CHALLENGED");
      expect(identify.status).toBe(409);
      expect(history.status).toBe(409);
    });
  });

  describe("MFA", () => {
    it("an unanswered challenge becomes EXPIRED after challengeExpiryMs; resume then → 405", async () => {
      // Prepare
      const { base, status } = await connected("challenge");
      // Act
      await sandbox.advanceTime(MX_KNOBS.challengeExpiryMs + 1);
      const expired = (await call("GET", `${base}/status`)).body.member;
      const challenges = await call("GET", `${base}/challenges`);
      const late = await answer(base, status.challenges[0].guid, "correct");
      // Assess
      expect(expired).toMatchObject({ connection_status: "EXPIRED", is_being_aggregated: false });
      expect(expired.challenges).toBeUndefined();
      expect(challenges.status).toBe(204);
      expect(late.status).toBe(405);
      expect(late.body.error.message).toEqual(expect.any(String));
    });

    it("multi: choose a phone (OPTIONS), then type the code (TEXT) under a new guid → CONNECTED", async () => {
      // Prepare
      const { user, member, base, status } = await connected("multi");
      const phones = status.challenges[0];
      // Act
      const first = await answer(base, phones.guid, phones.options[1].value);
      const second = await pollUntilSettled(call, user, member);
      const code = second.challenges[0];
      const last = await answer(base, code.guid, "correct");
      const final = await pollUntilSettled(call, user, member);
      // Assess
      expect(phones.type).toBe("OPTIONS");
      for (const option of phones.options) {
        expect(option).toEqual({ guid: null, label: expect.any(String), value: expect.any(String) });
      }
      expect(first.status).toBe(202);
      expect(second.connection_status).toBe("CHALLENGED");
      expect(code.type).toBe("TEXT");
      expect(code.guid).not.toBe(phones.guid);
      expect(last.status).toBe(202);
      expect(final.connection_status).toBe("CONNECTED");
    });

    it("multi: a phone that was not offered is REJECTED", async () => {
      // Prepare
      const { user, member, base, status } = await connected("options_then_text");
      // Act
      await answer(base, status.challenges[0].guid, "PHONE_99");
      const final = await pollUntilSettled(call, user, member);
      // Assess
      expect(final.connection_status).toBe("REJECTED");
    });

    it("knob challengeForegroundJobs: false → a signed-in MFA member's aggregate is not challenged again", async () => {
      // Prepare
      const other = await mxSandbox({ challengeForegroundJobs: false, minAggregationIntervalMs: 0 });
      const user = await other.newUser();
      const member = await createMxbankMember(other.call, user, "challenge");
      const challenged = await pollUntilSettled(other.call, user, member);
      await other.call("PUT", `/users/${user}/members/${member}/resume`, {
        body: { member: { challenges: [{ guid: challenged.challenges[0].guid, value: "correct" }] } },
      });
      await pollUntilSettled(other.call, user, member);
      // Act
      await other.call("POST", `/users/${user}/members/${member}/aggregate`);
      const final = await pollUntilSettled(other.call, user, member);
      await other.sandbox.close();
      // Assess
      expect(final.connection_status).toBe("CONNECTED");
    });

    it.each([
      ["token", "TOKEN"],
      ["image_options", "IMAGE_OPTIONS"],
    ])("%s: a %s challenge answered correct connects", async (password, type) => {
      // Prepare
      const { user, member, base, status } = await connected(password);
      const challenge = status.challenges[0];
      // Act
      await answer(base, challenge.guid, "correct");
      const final = await pollUntilSettled(call, user, member);
      // Assess
      expect(challenge.type).toBe(type);
      if (type === "IMAGE_OPTIONS") {
        expect(challenge.image_options.length).toBeGreaterThan(1);
        for (const option of challenge.image_options) {
          expect(option.data_uri).toMatch(/^data:image\/png;base64,/);
          expect(option).toMatchObject({ label: expect.any(String), value: expect.any(String) });
        }
      }
      expect(final.connection_status).toBe("CONNECTED");
    });
  });

  describe("history depth, extend_history, products", () => {
    it("a standard aggregation holds historyDays; extend_history (a job) makes older transactions available", async () => {
      // Prepare
      const { user, member, base } = await connected();
      const standard = (await call("GET", `${base}/transactions?${WIDE}&records_per_page=10`)).body;
      const oldest = async () => {
        const pages = (await call("GET", `${base}/transactions?${WIDE}&records_per_page=10`)).body.pagination;
        const lastPage = await call(
          "GET",
          `${base}/transactions?${WIDE}&records_per_page=10&page=${pages.total_pages}`,
        );
        return lastPage.body.transactions.at(-1).date as string;
      };
      const oldestStandard = await oldest();
      // Act
      const extended = await call("POST", `${base}/extend_history`);
      const done = await pollUntilSettled(call, user, member);
      const oldestExtended = await oldest();
      const after = (await call("GET", `${base}/transactions?${WIDE}&records_per_page=10`)).body;
      // Assess
      const today = sandbox.clock.now();
      expect(oldestStandard >= dayOf(today - 91 * DAY)).toBe(true);
      expect(extended.status).toBe(202);
      expect(extended.body.member.is_being_aggregated).toBe(true);
      expect(done.connection_status).toBe("CONNECTED");
      expect(oldestExtended < dayOf(today - 300 * DAY)).toBe(true);
      expect(after.pagination.total_entries).toBeGreaterThan(standard.pagination.total_entries);
    });

    it("extend_history: 403 outside the contract, 400 where the institution does not support it", async () => {
      // Prepare
      const other = await mxSandbox({ products: { extendedHistory: false } });
      const user = await other.newUser();
      const member = await createMxbankMember(other.call, user, "password");
      await pollUntilSettled(other.call, user, member);
      const creds = await other.call("GET", "/institutions/sandbox_credit_union/credentials");
      const [login, password] = creds.body.credentials;
      const unsupported = await call("POST", `/users/${await newUser()}/members`, {
        body: {
          member: {
            institution_code: "sandbox_credit_union",
            credentials: [
              { guid: login.guid, value: "mxuser" },
              { guid: password.guid, value: "password" },
            ],
          },
        },
      });
      const unsupportedBase = `/users/${unsupported.body.member.user_guid}/members/${unsupported.body.member.guid}`;
      // Act
      const forbidden = await other.call("POST", `/users/${user}/members/${member}/extend_history`);
      const badRequest = await call("POST", `${unsupportedBase}/extend_history`);
      await other.sandbox.close();
      // Assess
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.message).toEqual(expect.any(String));
      expect(badRequest.status).toBe(400);
    });

    it("identity outside the contract: identify and account_owners answer 403", async () => {
      // Prepare
      const other = await mxSandbox({ products: { identity: false } });
      const user = await other.newUser();
      const member = await createMxbankMember(other.call, user, "password");
      await pollUntilSettled(other.call, user, member);
      // Act
      const identify = await other.call("POST", `/users/${user}/members/${member}/identify`);
      const owners = await other.call("GET", `/users/${user}/members/${member}/account_owners`);
      await other.sandbox.close();
      // Assess
      expect(identify.status).toBe(403);
      expect(owners.status).toBe(403);
    });

    it("knob maxDateRangeDays: a from_date…to_date span over it answers 400", async () => {
      // Prepare
      const other = await mxSandbox({ maxDateRangeDays: 183 });
      const user = await other.newUser();
      const member = await createMxbankMember(other.call, user, "password");
      await pollUntilSettled(other.call, user, member);
      const path = `/users/${user}/members/${member}/transactions`;
      // Act
      const tooWide = await other.call("GET", `${path}?from_date=2024-01-01&to_date=2024-12-31`);
      const fine = await other.call("GET", `${path}?from_date=2024-01-01&to_date=2024-06-01`);
      await other.sandbox.close();
      // Assess
      expect(tooWide.status).toBe(400);
      expect(tooWide.body.error.message).toEqual(expect.any(String));
      expect(fine.status).toBe(200);
    });
  });

  describe("credentials update (reconnect)", () => {
    it("DENIED → PUT the right password → 200 member, then an aggregation → CONNECTED", async () => {
      // Prepare
      const { user, member, base, status } = await connected("UNAUTHORIZED");
      // Act
      const updated = await call("PUT", base, {
        body: { member: { credentials: mxbankCredentials("a-better-password") } },
      });
      const final = await pollUntilSettled(call, user, member);
      const empty = await call("PUT", base, { body: { member: {} } });
      // Assess
      expect(status.connection_status).toBe("DENIED");
      expect(updated.status).toBe(200);
      expect(updated.body.member.guid).toBe(member);
      expect(updated.body.member.is_being_aggregated).toBe(true);
      expect(JSON.stringify(updated.body)).not.toContain("a-better-password");
      expect(final.connection_status).toBe("CONNECTED");
      expect(empty.status).toBe(400);
    });
  });

  describe("OAuth window", () => {
    async function oauthWindow(call_: Call, user: string) {
      const created = await call_("POST", `/users/${user}/members`, {
        body: {
          member: { institution_code: "mx_bank_oauth", is_oauth: true },
          referral_source: "APP",
          client_redirect_url: "myapp://done",
        },
      });
      return created.body.member as { guid: string; oauth_window_uri: string };
    }

    it("expires after oauthWindowTtlMs: error_reason=SESSION_EXPIRED, member still PENDING", async () => {
      // Prepare
      const user = await newUser();
      const { guid, oauth_window_uri: uri } = await oauthWindow(call, user);
      await sandbox.advanceTime(MX_KNOBS.oauthWindowTtlMs + 1);
      // Act
      const opened = await fetch(uri, { redirect: "manual" });
      const status = (await call("GET", `/users/${user}/members/${guid}/status`)).body.member;
      // Assess
      expect(opened.status).toBe(302);
      const location = new URL(opened.headers.get("location") ?? "");
      expect(location.searchParams.get("status")).toBe("error");
      expect(location.searchParams.get("error_reason")).toBe("SESSION_EXPIRED");
      expect(status.connection_status).toBe("PENDING");
    });

    it("knob oauthAggregationFails: the redirect says success, the member ends FAILED (the redirect is a hint)", async () => {
      // Prepare
      const other = await mxSandbox({ oauthAggregationFails: true });
      const user = await other.newUser();
      const { guid, oauth_window_uri: uri } = await oauthWindow(other.call, user);
      const html = await (await fetch(uri)).text();
      const authorize = /<a id="authorize" href="([^"]+)"/.exec(html)?.[1] ?? "";
      // Act
      const redirect = await fetch(authorize, { redirect: "manual" });
      const final = await pollUntilSettled(other.call, user, guid);
      await other.sandbox.close();
      // Assess
      expect(new URL(redirect.headers.get("location") ?? "").searchParams.get("status")).toBe("success");
      expect(final.connection_status).toBe("FAILED");
      expect(final.successfully_aggregated_at).toBeNull();
    });

    it("cancel: error_reason=CANCELLED; the link is single use", async () => {
      // Prepare
      const user = await newUser();
      const { guid, oauth_window_uri: uri } = await oauthWindow(call, user);
      const html = await (await fetch(uri)).text();
      const cancel = /<a id="cancel" href="([^"]+)"/.exec(html)?.[1] ?? "";
      // Act
      const cancelled = await fetch(cancel, { redirect: "manual" });
      const again = await fetch(cancel, { redirect: "manual" });
      const status = (await call("GET", `/users/${user}/members/${guid}/status`)).body.member;
      // Assess
      expect(new URL(cancelled.headers.get("location") ?? "").searchParams.get("error_reason")).toBe(
        "CANCELLED",
      );
      expect(again.status).toBe(410);
      expect(status.connection_status).toBe("PENDING");
    });
  });

  it("defaults are MX's: the 3-hour rule and about 90 days of history", () => {
    // Assess
    expect(DEFAULT_KNOBS).toEqual(MX_KNOBS);
    expect(MX_KNOBS).toMatchObject({ historyDays: 90, minAggregationIntervalMs: 3 * HOUR });
  });

  it("429 carries no Retry-After (MX documents none) unless the knob sets one", async () => {
    // Prepare
    const other = await mxSandbox({ faults: { rate429: 1 } });
    // Act
    const plain = await other.call("GET", "/institutions");
    other.sandbox.setKnobs({ faults: { retryAfterSeconds: 2 } });
    const withHeader = await other.call("GET", "/institutions");
    await other.sandbox.close();
    // Assess
    expect(plain.status).toBe(429);
    expect(plain.headers.get("retry-after")).toBeNull();
    expect(plain.body).toEqual({ error: { message: expect.any(String) } });
    expect(withHeader.headers.get("retry-after")).toBe("2");
  });
});

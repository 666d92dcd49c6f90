// The MX client against the MX sandbox over loopback HTTP: every MxApi method, the mxbank password
// outcomes, MFA, OAuth, pagination, retries under injected faults, idempotent creates, and a contract
// check of every response the client saw against MX's OpenAPI description.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import {
  MXBANK_PASSWORD_GUID,
  MXBANK_USERNAME_GUID,
  type Sandbox,
  type SandboxKnobs,
  startSandbox,
} from "../local/sandbox/index";
import { connectionPhase } from "../shared/domain/connection";
import { createMxClient, type MxClient, type MxClientOptions } from "../shared/mx/client";
import {
  MxBadRequestError,
  MxConflictError,
  MxNotFoundError,
  MxRateLimitedError,
  MxUnauthorizedError,
  MxUnavailableError,
} from "../shared/mx/errors";
import type { MxResponseInfo } from "../shared/mx/http";
import { collectAll, iteratePages } from "../shared/mx/pages";
import type { MemberStatus, Page } from "../shared/mx/schemas";
import { createContractValidator, loadSpec } from "./contract-helpers";

const DAY_MS = 86_400_000;

const REDIRECT = "https://app.example.com/oauth-done?from=mx";
const FULL_HISTORY = "2000-01-01"; // the sandbox (like MX) defaults to a 120-day window

let sandbox: Sandbox;
let initialKnobs: SandboxKnobs;

beforeAll(async () => {
  // These tests are about the client (paging, totals): an institution whose standard aggregation holds the
  // whole generated year, so every transaction is visible (MX: about 90 days, varying by institution).
  sandbox = await startSandbox({
    aggregationMs: 40,
    accountsPerMember: 2,
    transactionsPerAccount: 30,
    historyDays: 365,
  });
  initialKnobs = sandbox.knobs;
});
afterEach(() => sandbox.setKnobs(initialKnobs));
afterAll(() => sandbox.close());

/** A client on the sandbox; waits are recorded instead of slept. */
function client(extra: Partial<MxClientOptions> = {}) {
  const waits: number[] = [];
  const mx = createMxClient({
    baseUrl: sandbox.url,
    credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  });
  return { mx, waits };
}

const mxbank = (password: string) => [
  { guid: MXBANK_USERNAME_GUID, value: "mxuser" },
  { guid: MXBANK_PASSWORD_GUID, value: password },
];

async function newUser(mx: MxClient) {
  return mx.createUser({ id: `user-${randomUUID()}` });
}

/** Polls status until the member leaves the working states (the sandbox's jobs last 40 ms). */
async function settle(mx: MxClient, userGuid: string, memberGuid: string): Promise<MemberStatus> {
  for (let i = 0; i < 500; i++) {
    const status = await mx.readMemberStatus(userGuid, memberGuid);
    if (connectionPhase(status) !== "AGGREGATING") return status;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("member never settled");
}

async function connectedMember(mx: MxClient, password = "password") {
  const user = await newUser(mx);
  const member = await mx.createMember(user.guid, {
    institutionCode: "mxbank",
    credentials: mxbank(password),
    id: `member-${randomUUID()}`,
  });
  const status = await settle(mx, user.guid, member.guid);
  return { user, member, status };
}

/** What a browser does with the OAuth window: load it, follow one link, stop at the redirect. */
async function oauthDecision(windowUri: string, choice: "authorize" | "deny") {
  const { click, redirect } = await decideAtBank(windowUri, choice);
  return { status: click.status, location: redirect };
}

/** Wraps a page reader to record which pages it was asked for. */
function counting<T>(read: (page: number) => Promise<Page<T>>) {
  const asked: number[] = [];
  return {
    asked,
    read: (page: number) => {
      asked.push(page);
      return read(page);
    },
  };
}

describe("users and institutions", () => {
  it("creates a user, finds it by our id, and returns the same user for a repeated id (409)", async () => {
    // Prepare
    const { mx } = client();
    const id = `user-${randomUUID()}`;
    // Act
    const created = await mx.createUser({ id, email: "someone@example.com", metadata: "m" });
    const found = await mx.findUserById(id);
    const again = await mx.createUser({ id });
    const missing = await mx.findUserById(`nobody-${randomUUID()}`);
    // Assess
    expect(created).toMatchObject({ id, email: "someone@example.com" });
    expect(created.guid).toMatch(/^USR-/);
    expect(found?.guid).toBe(created.guid);
    expect(again.guid).toBe(created.guid);
    expect(missing).toBeUndefined();
  });

  it("searches institutions (100 a page by default) and reads credential fields", async () => {
    // Prepare
    const { mx } = client();
    // Act
    const found = await mx.searchInstitutions({ name: "MX Bank" });
    const identifying = await mx.searchInstitutions({
      supportsAccountIdentification: true,
      recordsPerPage: 10,
    });
    const fields = await mx.listCredentialFields("mxbank");
    const unknown = mx.listCredentialFields("no_such_bank");
    // Assess
    expect(found.items.map((i) => i.code)).toEqual(expect.arrayContaining(["mxbank", "mx_bank_oauth"]));
    expect(found.pagination.per_page).toBe(100);
    expect(identifying.pagination.per_page).toBe(10);
    expect(identifying.items.every((i) => i.supports_account_identification)).toBe(true);
    expect(fields.map((f) => [f.field_type, f.guid])).toEqual([
      ["LOGIN", MXBANK_USERNAME_GUID],
      ["PASSWORD", MXBANK_PASSWORD_GUID],
    ]);
    await expect(unknown).rejects.toBeInstanceOf(MxNotFoundError);
  });
});

describe("credential members", () => {
  it.each([
    ["password", "CONNECTED", "CONNECTED"],
    ["challenge", "CHALLENGED", "CHALLENGED"],
    ["options", "CHALLENGED", "CHALLENGED"],
    ["image", "CHALLENGED", "CHALLENGED"],
    ["BAD_REQUEST", "FAILED", "FAILED"],
    ["UNAUTHORIZED", "DENIED", "NEEDS_USER"],
    ["INVALID", "DENIED", "NEEDS_USER"],
    ["DISABLED", "DENIED", "NEEDS_USER"],
    ["LOCKED", "LOCKED", "NEEDS_USER"],
    ["SERVER_ERROR", "FAILED", "FAILED"],
    ["UNAVAILABLE", "FAILED", "FAILED"],
  ])("mxuser / %s ends %s", async (password, connectionStatus, phase) => {
    // Prepare
    const { mx } = client();
    // Act
    const { status } = await connectedMember(mx, password);
    // Assess
    expect(status.connection_status).toBe(connectionStatus);
    expect(connectionPhase(status)).toBe(phase);
  });

  it.each([
    ["challenge", "TEXT"],
    ["options", "OPTIONS"],
    ["image", "IMAGE_DATA"],
  ])("answers a %s MFA challenge (%s) and connects", async (password, type) => {
    // Prepare
    const { mx } = client();
    const { user, member, status } = await connectedMember(mx, password);
    // Act
    const challenges = await mx.listChallenges(user.guid, member.guid);
    const answers = challenges.map((c) => ({
      guid: c.guid,
      value: c.options?.find((o) => o.label === "correct")?.value ?? "correct",
    }));
    const resumed = await mx.resumeMember(user.guid, member.guid, answers);
    const end = await settle(mx, user.guid, member.guid);
    const after = await mx.listChallenges(user.guid, member.guid);
    // Assess
    expect(status.challenges?.map((c) => c.guid)).toEqual(challenges.map((c) => c.guid));
    expect(challenges).toHaveLength(1);
    expect(challenges[0]?.type).toBe(type);
    if (type === "OPTIONS") expect(challenges[0]?.options?.length).toBeGreaterThan(1);
    if (type === "IMAGE_DATA") expect(challenges[0]?.image_data).toMatch(/^data:image\//);
    expect(resumed.guid).toBe(member.guid);
    expect(end.connection_status).toBe("CONNECTED");
    expect(after).toEqual([]); // 204: nothing to answer
  });

  it("a wrong MFA answer ends REJECTED", async () => {
    // Prepare
    const { mx } = client();
    const { user, member } = await connectedMember(mx, "challenge");
    const [challenge] = await mx.listChallenges(user.guid, member.guid);
    // Act
    await mx.resumeMember(user.guid, member.guid, [{ guid: challenge?.guid ?? "", value: "wrong" }]);
    const end = await settle(mx, user.guid, member.guid);
    // Assess
    expect(end.connection_status).toBe("REJECTED");
    expect(connectionPhase(end)).toBe("NEEDS_USER");
  });

  it("reads, lists, identifies, aggregates, reads owners/accounts/transactions and deletes a member", async () => {
    // Prepare
    const { mx } = client();
    const { user, member } = await connectedMember(mx);
    // Act
    const read = await mx.readMember(user.guid, member.guid);
    const listed = await mx.listMembers(user.guid);
    const identifying = await mx.identifyMember(user.guid, member.guid);
    const busy = mx.aggregateMember(user.guid, member.guid);
    await expect(busy).rejects.toBeInstanceOf(MxConflictError);
    await settle(mx, user.guid, member.guid);
    // MX runs no aggregation within 3 hours of a successful one (it answers 202 and runs nothing). Moving
    // past midnight (UTC) gives the aggregation a new day of transactions (one per account and day).
    const dayBefore = Math.floor(sandbox.clock.now() / DAY_MS);
    await sandbox.advanceTime(3 * 3_600_000 + 60_000);
    const newDays = Math.floor(sandbox.clock.now() / DAY_MS) - dayBefore;
    const aggregating = await mx.aggregateMember(user.guid, member.guid);
    const end = await settle(mx, user.guid, member.guid);
    const owners = await mx.listAccountOwners(user.guid, member.guid);
    const accounts = await mx.listAccounts(user.guid, member.guid);
    const transactions = await mx.listTransactions(user.guid, member.guid, { fromDate: FULL_HISTORY });
    await mx.deleteMember(user.guid, member.guid);
    const gone = mx.readMember(user.guid, member.guid);
    // Assess
    expect(read).toMatchObject({ guid: member.guid, id: member.id, institution_code: "mxbank" });
    expect(listed.items.map((m) => m.guid)).toEqual([member.guid]);
    expect(listed.pagination.per_page).toBe(1000);
    expect(identifying.is_being_aggregated).toBe(true);
    expect(aggregating.is_being_aggregated).toBe(true);
    expect(end.connection_status).toBe("CONNECTED");
    expect(owners.items.length).toBeGreaterThan(0);
    expect(owners.items.every((o) => o.member_guid === member.guid)).toBe(true);
    expect(accounts.items).toHaveLength(2);
    expect(transactions.pagination).toMatchObject({
      total_entries: 60 + 2 * newDays,
      per_page: 1000,
      total_pages: 1,
    });
    await expect(gone).rejects.toBeInstanceOf(MxNotFoundError);
    await expect(mx.deleteMember(user.guid, member.guid)).rejects.toBeInstanceOf(MxNotFoundError);
  });
});

describe("OAuth members", () => {
  it("allow: the browser is redirected with status=success, the member connects, data follows", async () => {
    // Prepare
    const { mx } = client();
    const user = await newUser(mx);
    const member = await mx.createMember(user.guid, {
      institutionCode: "mx_bank_oauth",
      isOauth: true,
      id: `oauth-${randomUUID()}`,
      clientRedirectUrl: REDIRECT,
      referralSource: "APP",
    });
    // Act
    const decision = await oauthDecision(member.oauth_window_uri ?? "", "authorize");
    const end = await settle(mx, user.guid, member.guid);
    const accounts = await mx.listAccounts(user.guid, member.guid);
    // Assess
    expect(member.connection_status).toBe("PENDING");
    expect(decision.status).toBe(302);
    expect(`${decision.location.origin}${decision.location.pathname}`).toBe(
      "https://app.example.com/oauth-done",
    );
    expect(Object.fromEntries(decision.location.searchParams)).toEqual({
      from: "mx",
      status: "success",
      member_guid: member.guid,
    });
    expect(end.connection_status).toBe("CONNECTED");
    expect(accounts.items.length).toBe(2);
  });

  it("deny, through a fresh oauth_window_uri: redirected with status=error, the member ends DENIED", async () => {
    // Prepare
    const { mx } = client();
    const user = await newUser(mx);
    const member = await mx.createMember(user.guid, {
      institutionCode: "mx_bank_oauth",
      isOauth: true,
      id: `oauth-${randomUUID()}`,
    });
    // Act
    const fresh = await mx.requestOauthWindowUri(user.guid, member.guid, {
      clientRedirectUrl: REDIRECT,
      referralSource: "APP",
    });
    const decision = await oauthDecision(fresh.oauth_window_uri ?? "", "deny");
    const end = await settle(mx, user.guid, member.guid);
    // Assess
    expect(fresh.oauth_window_uri).toBeTruthy();
    expect(fresh.oauth_window_uri).not.toBe(member.oauth_window_uri);
    expect(decision.location.searchParams.get("status")).toBe("error");
    expect(decision.location.searchParams.get("member_guid")).toBe(member.guid);
    expect(decision.location.searchParams.get("error_reason")).toBe("DENIED");
    expect(end.connection_status).toBe("DENIED");
    expect(connectionPhase(end)).toBe("NEEDS_USER");
  });
});

describe("pagination", () => {
  async function memberWith(transactionsPerAccount: number, accountsPerMember = 2) {
    sandbox.setKnobs({ transactionsPerAccount, accountsPerMember });
    const { mx } = client();
    const { user, member } = await connectedMember(mx);
    return { mx, user, member };
  }

  it.each([
    [1000, 2, 2000, [1, 2]], // exactly two full pages: no third request
    [1001, 2, 2002, [1, 2, 3]], // a last page of two
    [5, 1, 5, [1]],
    [0, 0, 0, [1]], // nothing at all: total_pages 0, one request
  ])(
    "%i transactions × %i accounts: every page read once, totals match",
    async (perAccount, accounts, total, pages) => {
      // Prepare
      const { mx, user, member } = await memberWith(perAccount, accounts);
      const reader = counting((page) =>
        mx.listTransactions(user.guid, member.guid, { page, fromDate: FULL_HISTORY }),
      );
      // Act
      const seenPages: Page<unknown>[] = [];
      for await (const page of iteratePages(reader.read)) seenPages.push(page);
      const items = seenPages.flatMap((p) => p.items as { guid: string }[]);
      // Assess
      expect(reader.asked).toEqual(pages);
      expect(items).toHaveLength(total);
      expect(new Set(items.map((t) => t.guid)).size).toBe(total);
      expect(seenPages[0]?.pagination.total_entries).toBe(total);
    },
  );

  it("honours an explicit page size, and collectAll reads the same records as the iterator", async () => {
    // Prepare
    const { mx, user, member } = await memberWith(25, 1);
    const reader = counting((page) =>
      mx.listTransactions(user.guid, member.guid, { page, recordsPerPage: 10, fromDate: FULL_HISTORY }),
    );
    // Act
    const all = await collectAll(reader.read);
    const inOne = await mx.listTransactions(user.guid, member.guid, { fromDate: FULL_HISTORY });
    // Assess
    expect(reader.asked).toEqual([1, 2, 3]);
    expect(all.map((t) => t.guid)).toEqual(inOne.items.map((t) => t.guid));
  });

  it("finds a member by our id across several pages of members", async () => {
    // Prepare: 23 members, read 10 a page
    const { mx } = client();
    const user = await newUser(mx);
    const ids = Array.from({ length: 23 }, (_, i) => `m-${i}-${randomUUID()}`);
    for (const [i, id] of ids.entries()) {
      await mx.createMember(user.guid, {
        institutionCode: "mxbank",
        credentials: mxbank(`pw-${i}`),
        id,
        skipAggregation: true,
      });
    }
    // Act
    const pages = await collectAll((page) => mx.listMembers(user.guid, { page, recordsPerPage: 10 }));
    const last = await mx.findMemberById(user.guid, ids[22] ?? "");
    // Assess
    expect(pages.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(last?.id).toBe(ids[22]);
  });
});

describe("retries and typed errors", () => {
  it("reads all data through injected 429s and 5xx, waiting as asked", async () => {
    // Prepare
    const { mx: calm } = client();
    const { user, member } = await connectedMember(calm);
    const expected = await collectAll((page) =>
      calm.listTransactions(user.guid, member.guid, { page, recordsPerPage: 10, fromDate: FULL_HISTORY }),
    );
    const before = sandbox.stats().byStatus;
    sandbox.setKnobs({ faults: { rate429: 0.2, rate5xx: 0.2, retryAfterSeconds: 1 } });
    const { mx, waits } = client({ retries: 10 });
    // Act
    const status = await mx.readMemberStatus(user.guid, member.guid);
    const accounts = await collectAll((page) =>
      mx.listAccounts(user.guid, member.guid, { page, recordsPerPage: 10 }),
    );
    const read = await collectAll((page) =>
      mx.listTransactions(user.guid, member.guid, { page, recordsPerPage: 10, fromDate: FULL_HISTORY }),
    );
    // Assess
    const after = sandbox.stats().byStatus;
    const faults = (after[429] ?? 0) - (before[429] ?? 0) + (after[500] ?? 0) - (before[500] ?? 0);
    expect(status.connection_status).toBe("CONNECTED");
    expect(accounts).toHaveLength(2);
    expect(read.map((t) => t.guid)).toEqual(expected.map((t) => t.guid));
    expect(faults + (after[503] ?? 0) - (before[503] ?? 0)).toBe(waits.length);
    expect(waits.length).toBeGreaterThan(0);
  });

  it("honours Retry-After on 429, then surfaces MxRateLimitedError after the last retry", async () => {
    // Prepare
    const { mx: calm } = client();
    const user = await newUser(calm);
    sandbox.setKnobs({ faults: { rate429: 1, retryAfterSeconds: 3 } });
    const { mx, waits } = client({ retries: 3 });
    const before = sandbox.stats().requests;
    // Act
    const error = await mx.listMembers(user.guid).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(MxRateLimitedError);
    expect((error as Error).name).toBe("MxRateLimitedError");
    expect(waits).toEqual([3000, 3000, 3000]);
    expect(sandbox.stats().requests - before).toBe(4);
  });

  it("surfaces MxUnavailableError when MX stays down", async () => {
    // Prepare
    sandbox.setKnobs({ faults: { rate5xx: 1 } });
    const { mx, waits } = client({ retries: 2 });
    // Act
    const error = await mx.searchInstitutions({ name: "MX" }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(MxUnavailableError);
    expect((error as Error).name).toBe("MxUnavailableError");
    expect(waits).toHaveLength(2);
  });

  it("does not retry errors that repeating cannot fix", async () => {
    // Prepare
    const { mx, waits } = client();
    const { mx: stranger } = client({ credentials: { clientId: sandbox.clientId, apiKey: "wrong" } });
    const user = await newUser(mx);
    const before = sandbox.stats().requests;
    // Act
    const unauthorized = await stranger.findUserById("x").catch((e: unknown) => e);
    const notFound = await mx.readMember(user.guid, "MBR-nope").catch((e: unknown) => e);
    const badInstitution = await mx
      .createMember(user.guid, { institutionCode: "no_such_bank", credentials: mxbank("x"), id: "bad" })
      .catch((e: unknown) => e);
    // Assess
    expect(unauthorized).toBeInstanceOf(MxUnauthorizedError);
    expect(notFound).toBeInstanceOf(MxNotFoundError);
    expect(badInstitution).toBeInstanceOf(MxBadRequestError);
    expect((badInstitution as MxBadRequestError).status).toBe(422);
    expect(sandbox.stats().requests - before).toBe(3);
    expect(waits).toEqual([]);
  });
});

describe("idempotent creates", () => {
  /** fetch to the sandbox that loses the response of the first matching call: MX acted, we never heard. */
  function losingFirst(method: string, pathEnd: string, when: "after" | "before") {
    let lost = false;
    const log: string[] = [];
    const lossy: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      log.push(`${init?.method ?? "GET"} ${url.pathname}`);
      const matches = !lost && init?.method === method && url.pathname.endsWith(pathEnd);
      if (matches && when === "before") {
        lost = true;
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }),
        });
      }
      const response = await fetch(input, init);
      if (matches) {
        lost = true;
        await response.arrayBuffer();
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }),
        });
      }
      return response;
    };
    return { lossy, log };
  }

  it("a create whose response was lost yields exactly one member (found by our id, not created twice)", async () => {
    // Prepare
    const { mx: calm } = client();
    const user = await newUser(calm);
    const { lossy, log } = losingFirst("POST", "/members", "after");
    const { mx } = client({ fetch: lossy });
    const id = `member-${randomUUID()}`;
    // Act
    const member = await mx.createMember(user.guid, {
      institutionCode: "mxbank",
      credentials: mxbank("password"),
      id,
    });
    // Assess
    const all = await collectAll((page) => calm.listMembers(user.guid, { page }));
    expect(all.map((m) => [m.guid, m.id])).toEqual([[member.guid, id]]);
    expect(log.filter((l) => l.startsWith("POST"))).toHaveLength(1);
  });

  it("an OAuth create whose response was lost also yields exactly one member", async () => {
    // Prepare: OAuth members have no credentials, so MX would not 409 a second one
    const { mx: calm } = client();
    const user = await newUser(calm);
    const { lossy } = losingFirst("POST", "/members", "after");
    const { mx } = client({ fetch: lossy });
    const id = `oauth-${randomUUID()}`;
    // Act
    const member = await mx.createMember(user.guid, { institutionCode: "mx_bank_oauth", isOauth: true, id });
    // Assess
    const all = await collectAll((page) => calm.listMembers(user.guid, { page }));
    expect(all.map((m) => m.guid)).toEqual([member.guid]);
  });

  it("a create that never reached MX is sent again, still one member", async () => {
    // Prepare
    const { mx: calm } = client();
    const user = await newUser(calm);
    const { lossy, log } = losingFirst("POST", "/members", "before");
    const { mx } = client({ fetch: lossy });
    const id = `member-${randomUUID()}`;
    // Act
    const member = await mx.createMember(user.guid, {
      institutionCode: "mxbank",
      credentials: mxbank("pw"),
      id,
    });
    // Assess
    const all = await collectAll((page) => calm.listMembers(user.guid, { page }));
    expect(all.map((m) => m.guid)).toEqual([member.guid]);
    expect(log.filter((l) => l.startsWith("POST"))).toHaveLength(2);
  });

  it("a duplicate create (409) returns the member that exists", async () => {
    // Prepare
    const { mx } = client();
    const user = await newUser(mx);
    const input = {
      institutionCode: "mxbank",
      credentials: mxbank("password"),
      id: `member-${randomUUID()}`,
    };
    const first = await mx.createMember(user.guid, input);
    // Act
    const second = await mx.createMember(user.guid, input);
    const otherId = mx.createMember(user.guid, { ...input, id: `other-${randomUUID()}` });
    // Assess
    expect(second.guid).toBe(first.guid);
    await expect(otherId).rejects.toBeInstanceOf(MxConflictError); // same credentials, not ours
    expect((await mx.listMembers(user.guid)).items).toHaveLength(1);
  });

  it("a user create whose response was lost yields exactly one user", async () => {
    // Prepare
    const { lossy, log } = losingFirst("POST", "/users", "after");
    const { mx } = client({ fetch: lossy });
    const id = `user-${randomUUID()}`;
    // Act
    const user = await mx.createUser({ id });
    // Assess
    const found = await client().mx.findUserById(id);
    expect(found?.guid).toBe(user.guid);
    expect(log.filter((l) => l.startsWith("POST"))).toHaveLength(1);
  });
});

const spec = loadSpec();
describe.skipIf(!spec)("contract", () => {
  /** Both MX guides plus the remaining calls, through one client that records every response. */
  async function demoFlow(mx: MxClient) {
    const user = await mx.createUser({ id: `contract-${randomUUID()}` });
    await mx.createUser({ id: user.id ?? "" }); // 409, then found
    await mx.searchInstitutions({ name: "MX Bank" });
    await mx.listCredentialFields("mxbank");
    const member = await mx.createMember(user.guid, {
      institutionCode: "mxbank",
      credentials: mxbank("options"),
      id: `m-${randomUUID()}`,
      skipAggregation: true,
    });
    await mx.identifyMember(user.guid, member.guid);
    await settle(mx, user.guid, member.guid);
    const challenges = await mx.listChallenges(user.guid, member.guid);
    await mx.resumeMember(
      user.guid,
      member.guid,
      challenges.map((c) => ({ guid: c.guid, value: "correct" })),
    );
    await settle(mx, user.guid, member.guid);
    await mx.listChallenges(user.guid, member.guid); // 204
    await mx.listAccountOwners(user.guid, member.guid);
    await mx.aggregateMember(user.guid, member.guid);
    await settle(mx, user.guid, member.guid);
    const oauth = await mx.createMember(user.guid, {
      institutionCode: "mx_bank_oauth",
      isOauth: true,
      id: `o-${randomUUID()}`,
      clientRedirectUrl: REDIRECT,
      referralSource: "APP",
    });
    const fresh = await mx.requestOauthWindowUri(user.guid, oauth.guid, { referralSource: "APP" });
    await oauthDecision(fresh.oauth_window_uri ?? "", "authorize");
    await settle(mx, user.guid, oauth.guid);
    await mx.readMember(user.guid, oauth.guid);
    await mx.listMembers(user.guid);
    await mx.listAccounts(user.guid, oauth.guid);
    await collectAll((page) => mx.listTransactions(user.guid, oauth.guid, { page, recordsPerPage: 10 }));
    await mx.deleteMember(user.guid, member.guid);
  }

  it("every response the client sees in the demo flow matches MX's OpenAPI description", async () => {
    // Prepare
    const validator = createContractValidator(spec ?? { paths: {}, components: { schemas: {} } });
    const seen: MxResponseInfo[] = [];
    const { mx } = client({ onResponse: (info) => seen.push(info) });
    // Act
    await demoFlow(mx);
    // Assess
    const problems = seen.flatMap((info) => {
      const check = validator.validateResponse(info.method, info.pathTemplate, info.status, info.body);
      return check.valid
        ? []
        : [`${info.method} ${info.pathTemplate} ${info.status}: ${check.errors.join(", ")}`];
    });
    const operations = new Set(seen.map((i) => `${i.method} ${i.pathTemplate}`));
    expect(operations.size).toBe(17);
    expect(seen.some((i) => i.status === 204)).toBe(true);
    expect(seen.some((i) => i.status === 409)).toBe(true);
    expect(problems).toEqual([]);
  });
});

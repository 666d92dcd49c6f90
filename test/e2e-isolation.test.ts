// Over real HTTP against `startAll()`: a user sees only their own members and data (another user's guids
// answer 404 on every route that takes one, exactly as unknown guids), and bad input on every route gets a
// 4xx with a clear JSON error, never a 500 or a stack trace, whatever reaches the socket.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningAll } from "../local/start";
import { apiRoutes } from "../shared/api/routes";
import { type ApiClient, clientFor, createCredentialMember, startE2e, waitForSync } from "./fixtures/e2e";
import { INJECTIONS } from "./fixtures/hostile-input";

let app: RunningAll;
let owner: ApiClient;
let stranger: ApiClient;
let memberGuid: string;
let accountGuid: string;

beforeAll(async () => {
  app = await startE2e();
  owner = await clientFor(app);
  stranger = await clientFor(app);
  const member = await createCredentialMember(owner, "password");
  memberGuid = member.guid;
  await waitForSync(owner, memberGuid);
  const accounts = await owner.get("/v1/accounts");
  accountGuid = accounts.body.accounts[0].guid;
});
afterAll(async () => {
  await app?.close();
});

const UNKNOWN_MEMBER = "MBR-00000000-0000-0000-0000-000000000000";
const UNKNOWN_ACCOUNT = "ACT-00000000-0000-0000-0000-000000000000";

/** Every route that takes a member or account guid, as [method, path with the guid, body]. */
const guidRoutes = (member: string, account: string): [string, string, unknown][] => [
  ["GET", `/v1/members/${member}`, undefined],
  ["GET", `/v1/members/${member}/challenges`, undefined],
  ["POST", `/v1/members/${member}/challenges`, { challenges: [{ guid: "CRD-1", value: "correct" }] }],
  ["POST", `/v1/members/${member}/sync`, undefined],
  ["GET", `/v1/members/${member}/owners`, undefined],
  ["GET", `/v1/accounts/${account}/transactions`, undefined],
  ["GET", `/v1/members/${member}/syncs`, undefined],
  [
    "POST",
    `/v1/members/${member}/reconnect`,
    { credentials: [{ guid: "CRD-27d0edb8-1d50-5b90-bcbc-be270ca42b9f", value: "new-password" }] },
  ],
  ["DELETE", `/v1/members/${member}`, undefined],
];

describe("another user's guids", () => {
  it("covers every route of the table that takes a guid", () => {
    const withGuid = apiRoutes.filter((r) => /\{(member|account)_guid\}/.test(r.path));
    const covered = guidRoutes("{member_guid}", "{account_guid}").map(([m, p]) => `${m} ${p}`);

    expect(covered.sort()).toEqual(withGuid.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("answer 404 on every route, exactly as a guid that does not exist, and change nothing", async () => {
    const before = (await owner.get(`/v1/members/${memberGuid}`)).body.member;

    for (const [method, path, body] of guidRoutes(memberGuid, accountGuid)) {
      const theirs = await stranger.send(method, path, body === undefined ? {} : { body });
      const unknown = await stranger.send(
        method,
        path.replace(memberGuid, UNKNOWN_MEMBER).replace(accountGuid, UNKNOWN_ACCOUNT),
        body === undefined ? {} : { body },
      );

      expect(theirs.status, `${method} ${path}`).toBe(404);
      expect(theirs.body, `${method} ${path}`).toEqual(unknown.body);
    }

    const after = (await owner.get(`/v1/members/${memberGuid}`)).body.member;
    expect(after.sync).toEqual(before.sync);
    expect((await owner.get("/v1/accounts")).body.accounts.length).toBeGreaterThan(0);
  });

  it("lists nothing of the other user", async () => {
    expect((await stranger.get("/v1/members")).body).toEqual({ members: [] });
    expect((await stranger.get("/v1/accounts")).body).toEqual({ accounts: [] });
  });
});

describe("who may call", () => {
  it("every route but the public ones (OAuth callback, MX's webhooks) answers 401 without a token", async () => {
    for (const route of apiRoutes) {
      const path = route.path
        .replace("{member_guid}", UNKNOWN_MEMBER)
        .replace("{account_guid}", UNKNOWN_ACCOUNT)
        .replace("{institution_code}", "mxbank")
        .replace("{state}", "x");

      const res = await fetch(`${app.apiUrl}${path}`, { method: route.method, redirect: "manual" });

      if (route.public) {
        // No JWT is asked for: whatever the route answers, it is not the gateway's refusal.
        const text = await res.text();
        const body: unknown = text.startsWith("{") ? JSON.parse(text) : text;
        expect(body, route.id).not.toEqual({ message: "Unauthorized" });
      } else {
        expect(res.status, route.id).toBe(401);
        expect(await res.json()).toEqual({ message: "Unauthorized" });
      }
    }
  });

  it("a token for another audience or an expired one answers 401", async () => {
    const otherApp = await app.issueToken("user-x", { audience: "another-app" });
    const expired = await app.issueToken("user-x", { ttlSeconds: -60 });

    for (const token of [otherApp, expired]) {
      const res = await fetch(`${app.apiUrl}/v1/members`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
  });

  it("an unknown route answers API Gateway's 404", async () => {
    const res = await owner.get("/v1/nothing-here");

    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: "Not Found" });
  });
});

type BadCase = [
  title: string,
  method: string,
  path: () => string,
  init: { body?: unknown; headers?: Record<string, string> },
];

const badInput: BadCase[] = [
  ["search: a name with markup", "GET", () => "/v1/institutions?name=%3Cscript%3E", {}],
  ["search: records_per_page out of range", "GET", () => "/v1/institutions?records_per_page=5000", {}],
  ["search: page not a number", "GET", () => "/v1/institutions?page=abc", {}],
  ["search: an unknown parameter", "GET", () => "/v1/institutions?admin=1", {}],
  ["credentials: a code with a quote", "GET", () => "/v1/institutions/mx'bank/credentials", {}],
  ["credentials: an unknown institution", "GET", () => "/v1/institutions/no_such_bank/credentials", {}],
  [
    "create: malformed JSON",
    "POST",
    () => "/v1/members",
    { body: '{"institution_code":', headers: { "content-type": "application/json" } },
  ],
  [
    "create: form-encoded",
    "POST",
    () => "/v1/members",
    { body: "institution_code=mxbank", headers: { "content-type": "application/x-www-form-urlencoded" } },
  ],
  [
    "create: text/plain",
    "POST",
    () => "/v1/members",
    { body: "{}", headers: { "content-type": "text/plain" } },
  ],
  ["create: no body", "POST", () => "/v1/members", { headers: { "content-type": "application/json" } }],
  ["create: a JSON array", "POST", () => "/v1/members", { body: [] }],
  ["create: wrong types", "POST", () => "/v1/members", { body: { institution_code: 5, credentials: "x" } }],
  [
    "create: an unknown field",
    "POST",
    () => "/v1/members",
    { body: { institution_code: "mxbank", is_oauth: true, admin: true } },
  ],
  [
    "create: an unknown institution",
    "POST",
    () => "/v1/members",
    { body: { institution_code: "no_such_bank", credentials: [{ guid: "CRD-1", value: "x" }] } },
  ],
  [
    "create: an oversized body",
    "POST",
    () => "/v1/members",
    { body: { institution_code: "mxbank", credentials: [{ guid: "CRD-1", value: "x".repeat(64 * 1024) }] } },
  ],
  [
    "create: a javascript: redirect_url",
    "POST",
    () => "/v1/members",
    { body: { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: "javascript:alert(1)" } },
  ],
  [
    "challenges: not an array",
    "POST",
    () => `/v1/members/${memberGuid}/challenges`,
    { body: { challenges: "correct" } },
  ],
  [
    "challenges: an empty list",
    "POST",
    () => `/v1/members/${memberGuid}/challenges`,
    { body: { challenges: [] } },
  ],
  [
    "challenges: malformed JSON",
    "POST",
    () => `/v1/members/${memberGuid}/challenges`,
    { body: "{", headers: { "content-type": "application/json" } },
  ],
  ["transactions: a bad date", "GET", () => `/v1/accounts/${accountGuid}/transactions?from=yesterday`, {}],
  [
    "transactions: from after to",
    "GET",
    () => `/v1/accounts/${accountGuid}/transactions?from=2026-02-01&to=2026-01-01`,
    {},
  ],
  ["transactions: limit 0", "GET", () => `/v1/accounts/${accountGuid}/transactions?limit=0`, {}],
  ["transactions: limit huge", "GET", () => `/v1/accounts/${accountGuid}/transactions?limit=100000`, {}],
  [
    "transactions: a forged cursor",
    "GET",
    () => `/v1/accounts/${accountGuid}/transactions?cursor=eyJmb3JnZWQiOnRydWV9`,
    {},
  ],
  [
    "transactions: a cursor with markup",
    "GET",
    () => `/v1/accounts/${accountGuid}/transactions?cursor=%3Cx%3E`,
    {},
  ],
  ...INJECTIONS.flatMap((bad): BadCase[] => [
    [`member guid ${JSON.stringify(bad)}`, "GET", () => `/v1/members/${encodeURIComponent(bad)}`, {}],
    [`owners of ${JSON.stringify(bad)}`, "GET", () => `/v1/members/${encodeURIComponent(bad)}/owners`, {}],
    [`sync of ${JSON.stringify(bad)}`, "POST", () => `/v1/members/${encodeURIComponent(bad)}/sync`, {}],
    [`delete ${JSON.stringify(bad)}`, "DELETE", () => `/v1/members/${encodeURIComponent(bad)}`, {}],
    [
      `transactions of ${JSON.stringify(bad)}`,
      "GET",
      () => `/v1/accounts/${encodeURIComponent(bad)}/transactions`,
      {},
    ],
    [
      `search for ${JSON.stringify(bad)}`,
      "GET",
      () => `/v1/institutions?name=${encodeURIComponent(bad)}`,
      {},
    ],
    [
      `institution ${JSON.stringify(bad)}`,
      "GET",
      () => `/v1/institutions/${encodeURIComponent(bad)}/credentials`,
      {},
    ],
  ]),
];

describe("bad input over HTTP", () => {
  it.each(badInput)("%s → 4xx with a JSON error", async (_title, method, path, init) => {
    const res = await owner.send(method, path(), init);

    expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    expect(res.status, res.text).toBeLessThan(500);
    // Either the API's error body, or API Gateway's own for what never reaches a handler.
    const apiError = res.body?.error;
    if (apiError) {
      expect(apiError).toEqual({ code: expect.any(String), message: expect.any(String) });
    } else {
      expect(res.body).toEqual({ message: expect.any(String) });
    }
    expect(res.text).not.toMatch(/at .+\.ts:\d+|Error:|stack/);
  });

  it("a body over API Gateway's 10 MB limit is refused before any handler (413)", async () => {
    const res = await owner.send("POST", "/v1/members", { body: "x".repeat(10 * 1024 * 1024 + 1) });

    expect(res.status).toBe(413);
    expect(res.body).toEqual({ message: "Request Entity Too Large" });
  });

  it("a path with encoded slashes or dots does not reach another route", async () => {
    for (const path of [
      `/v1/members/${memberGuid}%2Fowners`,
      "/v1/members/..%2F..%2Fv1%2Faccounts",
      `/v1/members/${memberGuid}/../../accounts`,
    ]) {
      const res = await rawGet(path, owner.token);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
  });
});

/** node:http with a raw path, so it reaches the server byte for byte (URL parsing drops dot segments). */
function rawGet(path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const { hostname, port } = new URL(app.apiUrl);
    const req = request({ hostname, port, path, headers: { authorization: `Bearer ${token}` } });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

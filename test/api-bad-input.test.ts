// Bad input, route by route: malformed JSON, wrong types, oversized bodies, bad guid formats and injection
// strings get a 4xx JSON error naming the problem — never a 500, never a stack trace, never a side effect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID } from "../local/sandbox/index";
import { MAX_BODY_BYTES } from "../shared/api/limits";
import { type ApiWorld, type CallOptions, newUser, startApiWorld } from "./api-fixture";
import { INJECTIONS } from "./fixtures/hostile-input";

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(async () => {
  await world?.close();
});

const MEMBER = { member_guid: "MBR-7c6f361b-b582-15d6-60c0-358f12466b4b" };
const ACCOUNT = { account_guid: "ACT-06d7f44b-caae-0f6e-1384-01f52e75dcb1" };
const goodCredentials = [
  { guid: MXBANK_USERNAME_GUID, value: "mxuser" },
  { guid: MXBANK_PASSWORD_GUID, value: "password" },
];

type Case = [title: string, routeId: string, options: CallOptions, status: number, mentions?: RegExp];

const cases: Case[] = [
  // POST /v1/members
  ["malformed JSON", "CreateMember", { rawBody: '{"institution_code": "mxbank",' }, 400, /JSON/],
  ["a body that is not JSON at all", "CreateMember", { rawBody: "institution_code=mxbank" }, 400, /JSON/],
  [
    "a non-JSON content type",
    "CreateMember",
    { rawBody: "{}", headers: { "content-type": "text/plain" } },
    415,
    /application\/json/,
  ],
  ["no body", "CreateMember", { headers: { "content-type": "application/json" } }, 400],
  // Media types are case-insensitive: these reach the body's schema (its 400), not a 415.
  ...["Application/JSON; Charset=UTF-8", "application/json ; charset=utf-8", "APPLICATION/VND.API+JSON"].map(
    (type): Case => [
      `a body typed ${type}`,
      "AnswerChallenges",
      { params: MEMBER, body: { challenges: [] }, headers: { "content-type": type } },
      400,
      /body\.challenges/,
    ],
  ),
  ["a JSON array", "CreateMember", { body: [] }, 400, /body/],
  ["JSON null", "CreateMember", { body: null }, 400, /body/],
  [
    "an oversized body",
    "CreateMember",
    {
      body: {
        institution_code: "mxbank",
        credentials: [{ guid: "CRD-1", value: "x".repeat(MAX_BODY_BYTES) }],
      },
    },
    413,
  ],
  [
    "a wrongly typed institution_code",
    "CreateMember",
    { body: { institution_code: 5, credentials: goodCredentials } },
    400,
    /body\.institution_code/,
  ],
  [
    "credentials that are not an array",
    "CreateMember",
    { body: { institution_code: "mxbank", credentials: "mxuser:password" } },
    400,
    /body\.credentials/,
  ],
  [
    "neither credentials nor is_oauth",
    "CreateMember",
    { body: { institution_code: "mxbank" } },
    400,
    /credentials/,
  ],
  [
    "both credentials and is_oauth",
    "CreateMember",
    { body: { institution_code: "mxbank", credentials: goodCredentials, is_oauth: true } },
    400,
    /credentials/,
  ],
  [
    "is_oauth as a string",
    "CreateMember",
    { body: { institution_code: "mx_bank_oauth", is_oauth: "true" } },
    400,
    /body\.is_oauth/,
  ],
  [
    "an unknown field",
    "CreateMember",
    { body: { institution_code: "mxbank", credentials: goodCredentials, admin: true } },
    400,
    /admin/,
  ],
  [
    "an empty credential value",
    "CreateMember",
    { body: { institution_code: "mxbank", credentials: [{ guid: MXBANK_USERNAME_GUID, value: "" }] } },
    400,
    /body\.credentials\[0\]\.value/,
  ],
  [
    "a redirect_url off the allow-list",
    "CreateMember",
    { body: { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: "https://evil.test/steal" } },
    400,
    /allow-list/,
  ],
  [
    "a redirect_url on a look-alike host",
    "CreateMember",
    {
      body: {
        institution_code: "mx_bank_oauth",
        is_oauth: true,
        redirect_url: "https://app.example.test.evil.test/connected",
      },
    },
    400,
    /redirect_url/,
  ],
  [
    "a javascript: redirect_url",
    "CreateMember",
    { body: { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: "javascript:alert(1)" } },
    400,
    /redirect_url/,
  ],
  [
    "identify as a number",
    "CreateMember",
    { body: { institution_code: "mxbank", credentials: goodCredentials, identify: 1 } },
    400,
    /body\.identify/,
  ],
  // challenges
  ["no answers", "AnswerChallenges", { params: MEMBER, body: { challenges: [] } }, 400, /body\.challenges/],
  [
    "an answer without a guid",
    "AnswerChallenges",
    { params: MEMBER, body: { challenges: [{ value: "x" }] } },
    400,
    /body\.challenges\[0\]\.guid/,
  ],
  ["malformed JSON answers", "AnswerChallenges", { params: MEMBER, rawBody: "{challenges:" }, 400, /JSON/],
  // transactions query
  ["limit 0", "ListTransactions", { params: ACCOUNT, query: { limit: "0" } }, 400, /query\.limit/],
  ["limit 501", "ListTransactions", { params: ACCOUNT, query: { limit: "501" } }, 400, /query\.limit/],
  [
    "a non-numeric limit",
    "ListTransactions",
    { params: ACCOUNT, query: { limit: "ten" } },
    400,
    /query\.limit/,
  ],
  [
    "an impossible date",
    "ListTransactions",
    { params: ACCOUNT, query: { from: "2024-02-30" } },
    400,
    /query\.from/,
  ],
  [
    "from after to",
    "ListTransactions",
    { params: ACCOUNT, query: { from: "2024-05-01", to: "2024-04-01" } },
    400,
    /query\.from/,
  ],
  [
    "a cursor with odd characters",
    "ListTransactions",
    { params: ACCOUNT, query: { cursor: "a b" } },
    400,
    /cursor/,
  ],
  [
    "an unknown query parameter",
    "ListTransactions",
    { params: ACCOUNT, query: { sort: "asc" } },
    400,
    /sort/,
  ],
  // institutions
  [
    "markup in the search name",
    "SearchInstitutions",
    { query: { name: "<script>alert(1)</script>" } },
    400,
    /query\.name/,
  ],
  [
    "a page size out of range",
    "SearchInstitutions",
    { query: { records_per_page: "1000" } },
    400,
    /records_per_page/,
  ],
  [
    "a path in the institution code",
    "ListCredentials",
    { params: { institution_code: "../users" } },
    400,
    /path\.institution_code/,
  ],
];

for (const routeId of ["GetMember", "GetChallenges", "SyncMember", "DeleteMember", "ListOwners"]) {
  for (const guid of [...INJECTIONS, "123", "ACT-06d7f44b", "mbr-lowercase", ""]) {
    cases.push([
      `member_guid ${JSON.stringify(guid.slice(0, 40))}`,
      routeId,
      { params: { member_guid: guid } },
      400,
    ]);
  }
}
for (const guid of [...INJECTIONS, "MBR-06d7f44b"]) {
  cases.push([
    `account_guid ${JSON.stringify(guid.slice(0, 40))}`,
    "ListTransactions",
    { params: { account_guid: guid } },
    400,
  ]);
}
for (const code of INJECTIONS) {
  cases.push([
    `institution_code ${JSON.stringify(code.slice(0, 40))}`,
    "CreateMember",
    { body: { institution_code: code, credentials: goodCredentials } },
    400,
  ]);
}

describe("bad input answers 4xx JSON, never 500", () => {
  it.each(cases)("%s (%s)", async (_title, routeId, options, status, mentions) => {
    // Prepare
    const startsBefore = world.started.length;

    // Act
    const res = await world.call(routeId, { sub: newUser(), ...options });

    // Assess
    expect(res.status, res.text).toBe(status);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body.error.code).toMatch(/^[a-z_]+$/);
    expect(res.body.error.message.length).toBeGreaterThan(0);
    if (mentions) expect(res.body.error.message).toMatch(mentions);
    expect(res.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(world.started.length).toBe(startsBefore);
  });
});

describe("a caller the authorizer let through but who names no user: the authorizer's own 401", () => {
  it.each([
    ["no JWT context", "ListMembers", { sub: null }],
    ["a sub with markup", "ListMembers", { sub: "<script>" }],
    ["an empty sub", "GetMember", { sub: "", params: MEMBER }],
    ["a sub of 129 characters", "ListAccounts", { sub: "a".repeat(129) }],
  ] as [string, string, CallOptions][])("%s (%s)", async (_title, routeId, options) => {
    const res = await world.call(routeId, options);

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: "Unauthorized" });
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer .*error="invalid_token"/);
  });
});

describe("the OAuth callback answers a page, never JSON or a 500", () => {
  it.each([
    ["not a state", "hello"],
    ["markup", "<script>alert(1)</script>"],
    ["an oversized state", `${"a".repeat(2000)}.${"b".repeat(43)}`],
  ])("%s → 400 page", async (_title, state) => {
    const res = await world.call("OauthCallback", { sub: null, params: { state } });

    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).not.toContain("<script>alert");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
  });
});

describe("a refused request goes no further", () => {
  it("fetched no secret and called nothing for any of the bad requests above", () => {
    // Every request in this file is refused: parsing happens before the route's secrets are fetched.
    expect(world.secretFetches()).toBe(0);
    expect(world.started).toEqual([]);
    expect(world.sandbox.stats().requests).toBe(0);
  });
});

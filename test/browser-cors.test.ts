// What a browser app on another origin meets: CORS on the deployed HTTP API (CDK context `corsOrigins`) and
// the same policy on `npm start` (CORS_ORIGINS, preflights included), plus `npm start`'s pages beside the API
// (the example app, the dev-only token endpoint). Plain HTTP: no browser needed.
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, SKIP_BUNDLING } from "../infra/build";
import type { RunningAll } from "../local/start";
import { startE2e } from "./fixtures/e2e";

const APP_ORIGIN = "http://localhost:5173";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e({ corsOrigins: [APP_ORIGIN] });
});

afterAll(async () => {
  await app?.close();
});

const preflight = (path: string, origin: string) =>
  fetch(`${app.apiUrl}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });

describe("CORS on npm start", () => {
  it("answers an allowed origin's preflight itself, before any token is checked", async () => {
    // Act
    const reply = await preflight("/v1/members", APP_ORIGIN);

    // Assess
    expect(reply.status).toBe(204);
    expect(reply.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(reply.headers.get("access-control-allow-methods")?.split(",")).toEqual(
      expect.arrayContaining(["GET", "POST", "DELETE"]),
    );
    expect(reply.headers.get("access-control-allow-headers")?.split(",")).toEqual(
      expect.arrayContaining(["authorization", "content-type"]),
    );
  });

  it("gives another origin no CORS header, so its browser refuses the read", async () => {
    // Act
    const reply = await preflight("/v1/members", "https://evil.example");
    const get = await fetch(`${app.apiUrl}/v1/institutions`, { headers: { origin: "https://evil.example" } });

    // Assess
    expect(reply.headers.get("access-control-allow-origin")).toBeNull();
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets the allowed origin read answers, API Gateway's own 401 included", async () => {
    // Prepare
    const token = await app.issueToken("cors-user");

    // Act
    const ok = await fetch(`${app.apiUrl}/v1/members`, {
      headers: { origin: APP_ORIGIN, authorization: `Bearer ${token}` },
    });
    const refused = await fetch(`${app.apiUrl}/v1/members`, { headers: { origin: APP_ORIGIN } });

    // Assess
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
  });
});

describe("CORS on the deployed API", () => {
  const corsOf = (context: Record<string, unknown>) => {
    const { stack } = buildApp({ context: { ...SKIP_BUNDLING, ...context }, nag: false });
    const apis = Template.fromStack(stack).findResources("AWS::ApiGatewayV2::Api");
    return Object.values(apis).map(
      (api) => (api as { Properties: { CorsConfiguration?: unknown } }).Properties,
    )[0]?.CorsConfiguration;
  };

  it("is off by default and set from CDK context corsOrigins", () => {
    // Act
    const none = corsOf({});
    const some = corsOf({ corsOrigins: "https://app.example.com, http://localhost:5173" });

    // Assess
    expect(none).toBeUndefined();
    expect(some).toMatchObject({
      AllowOrigins: ["https://app.example.com", "http://localhost:5173"],
      AllowHeaders: expect.arrayContaining(["authorization", "content-type"]),
      AllowMethods: expect.arrayContaining(["GET", "POST", "DELETE"]),
    });
  });

  it("refuses an origin with a path, so a typo fails the synth instead of allowing nothing", () => {
    // Act / Assess
    expect(() => corsOf({ corsOrigins: "https://app.example.com/connect" })).toThrow(/must be an origin/);
  });
});

describe("npm start's pages beside the API", () => {
  it("serves the example app at / and nothing outside its folder", async () => {
    // Act
    const page = await fetch(`${app.apiUrl}/`);
    const outside = await fetch(`${app.apiUrl}/%2e%2e/package.json`);

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect(outside.status).toBe(404);
  });

  it("signs a development token the API accepts, and refuses a bad user id with a JSON error", async () => {
    // Act
    const signed = await fetch(`${app.apiUrl}/dev/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "dev-alice" }),
    });
    const { token } = (await signed.json()) as { token: string };
    const members = await fetch(`${app.apiUrl}/v1/members`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const bad = await fetch(`${app.apiUrl}/dev/token`, { method: "POST", body: '{"user":"<script>"}' });

    // Assess
    expect(signed.status).toBe(200);
    expect(members.status).toBe(200);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { code: "invalid_request", message: expect.stringContaining("body.user") },
    });
  });
});

// The Connect API's pure parts: OAuth state signing, the redirect allow-list, idempotency ids, the error
// mapping, and the OpenAPI description generated from the request schemas.
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { ApiError, NotFoundError } from "../shared/api/errors";
import { errorResponse } from "../shared/api/http";
import { memberIdempotencyId } from "../shared/api/idempotency";
import {
  deriveApiKeys,
  OAUTH_STATE_TTL_MS,
  signOauthState,
  verifyOauthState,
} from "../shared/api/oauth-state";
import { buildOpenApiDocument, operations } from "../shared/api/openapi";
import { isAllowedRedirect, withOutcome } from "../shared/api/redirects";
import { apiRoutes } from "../shared/api/routes";
import { createMemberBodySchema } from "../shared/api/schemas";
import { MxNotFoundError, MxRateLimitedError, MxTimeoutError, MxUnavailableError } from "../shared/mx/errors";

const keys = deriveApiKeys("k".repeat(48));
const subject = { userId: "user-1", memberGuid: "MBR-1234" };
const now = new Date("2026-01-01T12:00:00Z");

describe("OAuth state", () => {
  it("verifies its own state within 10 minutes, naming user, member and a nonce", () => {
    const { token, state } = signOauthState(keys.oauthState, subject, now);

    const verified = verifyOauthState(keys.oauthState, token, new Date(now.getTime() + 9 * 60_000));

    expect(verified).toEqual({ ok: true, state });
    expect(state).toMatchObject(subject);
    expect(state.expiresAt - now.getTime()).toBe(OAUTH_STATE_TTL_MS);
  });

  it("gives each state its own nonce", () => {
    const a = signOauthState(keys.oauthState, subject, now);
    const b = signOauthState(keys.oauthState, subject, now);

    expect(a.state.nonce).not.toBe(b.state.nonce);
    expect(a.token).not.toBe(b.token);
  });

  it("refuses an expired state", () => {
    const { token } = signOauthState(keys.oauthState, subject, now);

    expect(verifyOauthState(keys.oauthState, token, new Date(now.getTime() + OAUTH_STATE_TTL_MS))).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it("refuses forgeries: another key, a tampered payload, a cut signature, junk", () => {
    const { token } = signOauthState(keys.oauthState, subject, now);
    const [payload = "", signature = ""] = token.split(".");
    // The payload is sealed: tampering flips one of its bits.
    const bytes = Buffer.from(payload, "base64url");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    const tampered = bytes.toString("base64url");
    const other = deriveApiKeys("o".repeat(48)).oauthState;

    for (const forged of [
      `${tampered}.${signature}`,
      `${payload}.${signature.slice(0, -2)}`,
      `${payload}.${signature}.extra`,
      "junk",
      "",
    ]) {
      expect(verifyOauthState(keys.oauthState, forged, now)).toEqual({ ok: false, reason: "forged" });
    }
    expect(verifyOauthState(other, token, now)).toEqual({ ok: false, reason: "forged" });
  });

  it("keeps its two keys apart and refuses a short secret", () => {
    expect(keys.oauthState.equals(keys.memberId)).toBe(false);
    expect(() => deriveApiKeys("short")).toThrow(/32/);
  });
});

describe("redirect allow-list", () => {
  const list = [new URL("https://app.example.com").href, "https://shop.example.com/return", "myapp://oauth"];

  it.each([
    ["https://app.example.com/", true],
    ["https://app.example.com/anything?x=1", true],
    ["https://shop.example.com/return", true],
    ["https://shop.example.com/return/done", true],
    ["https://shop.example.com/return?x=1", true],
    ["myapp://oauth/done", true],
    ["https://shop.example.com/returned", false],
    ["https://app.example.com.evil.test/", false],
    ["https://app.example.com@evil.test/", false],
    ["https://user:pw@app.example.com/", false],
    ["http://app.example.com/", false],
    ["javascript:alert(1)", false],
    ["data:text/html,hi", false],
    ["not a url", false],
  ])("%s → %s", (url, allowed) => {
    expect(isAllowedRedirect(url, list)).toBe(allowed);
  });

  it("adds the outcome to the app URL, keeping its own query", () => {
    expect(
      withOutcome("https://app.example.com/done?app=1", { status: "success", member_guid: "MBR-1" }),
    ).toBe("https://app.example.com/done?app=1&status=success&member_guid=MBR-1");
  });
});

describe("member idempotency id", () => {
  const base = {
    userId: "user-1",
    institutionCode: "mxbank",
    isOauth: false,
    credentials: [
      { guid: "CRD-1", value: "mxuser" },
      { guid: "CRD-2", value: "hunter2" },
    ],
  };

  it("is the same for the same request, whatever the order of the credentials", () => {
    const reordered = { ...base, credentials: [...base.credentials].reverse() };

    expect(memberIdempotencyId(keys.memberId, reordered)).toBe(memberIdempotencyId(keys.memberId, base));
  });

  it("differs by user, institution, credentials and key, and never contains a value", () => {
    const id = memberIdempotencyId(keys.memberId, base);
    const variants = [
      memberIdempotencyId(keys.memberId, { ...base, userId: "user-2" }),
      memberIdempotencyId(keys.memberId, { ...base, institutionCode: "other" }),
      memberIdempotencyId(keys.memberId, { ...base, credentials: [{ guid: "CRD-1", value: "mxuser" }] }),
      memberIdempotencyId(deriveApiKeys("z".repeat(48)).memberId, base),
    ];

    expect(new Set([id, ...variants]).size).toBe(5);
    expect(id).toMatch(/^mc-[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain("hunter2");
  });
});

describe("error mapping", () => {
  const details = { method: "GET", path: "/users/USR-1/members" };

  it.each([
    [new NotFoundError(), 404, "not_found"],
    [new ApiError(409, "conflict", "x"), 409, "conflict"],
    [
      new MxRateLimitedError("x", { ...details, status: 429, retryAfterMs: 2500 }),
      503,
      "upstream_unavailable",
    ],
    [new MxUnavailableError("x", { ...details, status: 503 }), 503, "upstream_unavailable"],
    [new MxTimeoutError("x", details), 504, "upstream_timeout"],
    [new MxNotFoundError("x", { ...details, status: 404 }), 502, "upstream_error"],
    [new TypeError("Cannot read properties of undefined (reading 'secret')"), 500, "internal_error"],
    ["a thrown string", 500, "internal_error"],
  ])("%s → %i %s", (error, status, code) => {
    const { result } = errorResponse(error);

    expect(result.statusCode).toBe(status);
    expect(JSON.parse(String(result.body)).error.code).toBe(code);
  });

  it("says nothing of an unexpected error's message", () => {
    const { result } = errorResponse(new Error("password=hunter2 at /var/task/index.js:1"));

    expect(result.body).not.toMatch(/hunter2|var\/task/);
  });

  it("passes MX's Retry-After on", () => {
    const { result } = errorResponse(
      new MxRateLimitedError("x", { method: "GET", path: "/x", status: 429, retryAfterMs: 2500 }),
    );

    expect(result.headers?.["Retry-After"]).toBe("3");
  });
});

describe("OpenAPI description", () => {
  const doc = buildOpenApiDocument();

  it("describes every route, and only those", () => {
    const described = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(described.sort()).toEqual(apiRoutes.map((r) => `${r.method} ${r.path}`).sort());
    expect(Object.keys(operations).sort()).toEqual(apiRoutes.map((r) => r.id).sort());
  });

  it("needs a bearer token everywhere but the OAuth callback", () => {
    const callback = doc.paths["/v1/oauth/callback/{state}"] as { get: { security?: unknown[] } };

    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(callback.get.security).toEqual([]);
  });

  it("carries the same request rules as the validator (checked with Ajv)", () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const members = doc.paths["/v1/members"] as {
      post: { requestBody: { content: { "application/json": { schema: object } } } };
    };
    const validate = ajv.compile(members.post.requestBody.content["application/json"].schema);
    const samples = [
      { institution_code: "mxbank", credentials: [{ guid: "CRD-1", value: "x" }] },
      { institution_code: "mx_bank_oauth", is_oauth: true, redirect_url: "https://app.example.com/x" },
      { institution_code: "../etc", credentials: [{ guid: "CRD-1", value: "x" }] },
      { institution_code: "mxbank", credentials: [{ guid: "CRD-1", value: "" }] },
      { institution_code: "mxbank", credentials: [], extra: 1 },
      { institution_code: 5 },
    ];

    for (const sample of samples) {
      // The schema-level rules agree; the cross-field rules (credentials xor is_oauth) are the validator's.
      const zodAccepts = createMemberBodySchema.safeParse(sample).success;
      if (zodAccepts) expect(validate(sample), JSON.stringify(sample)).toBe(true);
    }
    expect(validate(samples[2])).toBe(false);
    expect(validate(samples[3])).toBe(false);
    expect(validate(samples[4])).toBe(false);
    expect(validate(samples[5])).toBe(false);
    expect(JSON.stringify(doc)).toContain('"writeOnly":true');
  });

  it("describes MX's webhook receiver as MX calls it: basic auth instead of the JWT, 204, JSON errors", () => {
    // Act
    const webhook = (
      doc.paths["/v1/mx/webhooks"] as {
        post: { security: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> };
      }
    ).post;
    const schemes = (doc.components as { securitySchemes: Record<string, { scheme?: string }> })
      .securitySchemes;

    // Assess
    expect(webhook.security).toEqual([{ mxWebhookBasic: [] }]);
    expect(schemes.mxWebhookBasic?.scheme).toBe("basic");
    expect(Object.keys(webhook.responses).sort()).toEqual(["204", "400", "401", "413", "500"]);
    expect(Object.keys(webhook.responses["401"]?.content ?? {})).toEqual(["application/json"]);
  });

  it("describes every MFA prompt shape as MX sends it: options and image options with label and value", () => {
    // Act
    const schema: unknown = z.toJSONSchema(operations.GetChallenges?.response ?? z.never(), { io: "output" });
    const prompt = (
      schema as { properties: { challenges: { items: { properties: Record<string, unknown> } } } }
    ).properties.challenges.items.properties;
    const itemsOf = (field: unknown) =>
      Object.keys(
        (field as { anyOf: { items?: { properties: object } }[] }).anyOf[0]?.items?.properties ?? {},
      ).sort();

    // Assess
    expect(Object.keys(prompt)).toEqual(
      expect.arrayContaining(["guid", "label", "type", "image_data", "options", "image_options"]),
    );
    expect(itemsOf(prompt.options)).toEqual(["guid", "label", "value"]);
    expect(itemsOf(prompt.image_options)).toEqual(["data_uri", "guid", "label", "value"]);
    expect(JSON.stringify(prompt.type)).toContain("IMAGE_OPTIONS");
  });
});

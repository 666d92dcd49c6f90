// Properties of the code that reads what strangers send (fast-check): the request schemas and the one error
// mapping, the changes feed's signed cursor, the OAuth state, MX's webhook receiver and its basic auth, and
// the MX response schemas. Each property runs a bounded number of cases (the whole file: a few seconds).
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as z from "zod";
import { ApiError } from "../shared/api/errors";
import { errorResponse, InvalidRequestError, parseJsonBody } from "../shared/api/http";
import { OAUTH_STATE_TTL_MS, signOauthState, verifyOauthState } from "../shared/api/oauth-state";
import * as s from "../shared/api/schemas";
import { basicAuthMatches, mxWebhookSchema, receiveWebhook } from "../shared/api/webhooks";
import { ChangesCursorError } from "../shared/domain/errors";
import { type FeedPosition, signFeedCursor, verifyFeedCursor } from "../shared/feed/cursor";
import * as mx from "../shared/mx/schemas";
import type { RefreshMessage } from "../shared/refresh/messages";
import { loadSpec } from "./contract-helpers";

const RUNS = { numRuns: 200 };

/** JSON as a client could send it, with the keys that trip up careless code (own `__proto__` too). */
const hostileKey = fc.oneof(
  fc.string(),
  fc.constantFrom("__proto__", "constructor", "prototype", "toString"),
);
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ unit: "binary" }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc
      .array(fc.tuple(hostileKey, tie("value")), { maxLength: 5 })
      .map((entries) => Object.fromEntries(entries)),
  ),
})).value;
/** A query string or path parameters as API Gateway hands them over: names and values, all strings. */
const stringMap = fc
  .array(fc.tuple(hostileKey, fc.string({ unit: "binary" })), { maxLength: 5 })
  .map((entries) => Object.fromEntries(entries));

/** A response the client may see: the error envelope, no stack, no internal name. */
function expectClientError(result: ReturnType<typeof errorResponse>["result"], status: number) {
  expect(result.statusCode).toBe(status);
  const body = JSON.parse(String(result.body));
  expect(body).toEqual({ error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) } });
  expect(String(result.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|ZodError/);
}

describe("the request schemas", () => {
  const requestSchemas: [string, z.ZodType, fc.Arbitrary<unknown>][] = [
    ["body", s.createMemberBodySchema, jsonish],
    ["body", s.answerChallengesBodySchema, jsonish],
    ["body", s.reconnectBodySchema, jsonish],
    ["body", mxWebhookSchema, jsonish],
    ["query", s.searchInstitutionsQuerySchema, stringMap],
    ["query", s.listTransactionsQuerySchema, stringMap],
    ["query", s.listSyncsQuerySchema, stringMap],
    ["query", s.transactionsSyncQuerySchema, stringMap],
    ["query", s.oauthCallbackQuerySchema, stringMap],
    ["path", s.institutionParamsSchema, stringMap],
    ["path", s.memberParamsSchema, stringMap],
    ["path", s.accountParamsSchema, stringMap],
    ["path", s.oauthCallbackParamsSchema, stringMap],
    ["request", s.jwtContextSchema, jsonish],
  ];

  it.each(requestSchemas)(
    "%s: anything refused is a 400 naming the field, never a throw",
    (where, schema, input) => {
      fc.assert(
        fc.property(input, (value) => {
          // Act
          const parsed = schema.safeParse(value);

          // Assess
          if (!parsed.success)
            expectClientError(errorResponse(new InvalidRequestError(where, parsed.error)).result, 400);
        }),
        RUNS,
      );
    },
  );

  it("an own __proto__ or constructor key is refused by the strict schemas, not slipped past them", () => {
    fc.assert(
      fc.property(fc.constantFrom("__proto__", "constructor"), fc.jsonValue(), (key, value) => {
        const body = JSON.parse(
          `{"institution_code":"mxbank","is_oauth":true,${JSON.stringify(key)}:${JSON.stringify(value)}}`,
        );

        expect(s.createMemberBodySchema.safeParse(body).success).toBe(false);
        expect(s.listTransactionsQuerySchema.safeParse(Object.fromEntries([[key, "1"]])).success).toBe(false);
      }),
    );
  });
});

describe("the JSON body parser", () => {
  /** "application/json" or "application/<x>+json", each letter in either case, with or without parameters. */
  const jsonType = fc
    .tuple(
      fc.constantFrom("application/json", "application/vnd.api+json", "application/merge-patch+json"),
      fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      fc.constantFrom("", "; charset=utf-8", " ; Charset=UTF-8", ';charset="utf-8"', "; q=1"),
    )
    .map(([type, upper, parameters]) =>
      [...type]
        .map((c, i) => (upper[i] ? c.toUpperCase() : c))
        .join("")
        .concat(parameters),
    );
  const otherType = fc.oneof(
    fc.constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "application/jsonp",
    ),
    fc.string(),
  );

  it("reads JSON sent as JSON whatever the case of its media type", () => {
    fc.assert(
      fc.property(jsonType, fc.jsonValue(), (type, value) => {
        const parsed = parseJsonBody({
          headers: { "content-type": type },
          body: JSON.stringify(value),
          isBase64Encoded: false,
        });

        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      RUNS,
    );
  });

  it("answers anything else with a 415 or a 400, never another failure", () => {
    fc.assert(
      fc.property(
        fc.oneof(jsonType, otherType),
        fc.string({ unit: "binary", minLength: 1 }),
        fc.boolean(),
        (type, body, base64) => {
          let status = 0;
          try {
            parseJsonBody({ headers: { "content-type": type }, body, isBase64Encoded: base64 });
            return;
          } catch (error) {
            status = errorResponse(error).result.statusCode ?? 0;
            expectClientError(errorResponse(error).result, status);
          }
          expect([400, 415]).toContain(status);
        },
      ),
      RUNS,
    );
  });
});

describe("the one error mapping", () => {
  it("answers anything unexpected with a bare 500 that says nothing of it", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (name, message) => {
        const error = new Error(message);
        error.name = name;

        const { result } = errorResponse(error);

        expect(result.statusCode).toBe(500);
        expect(JSON.parse(String(result.body))).toEqual({
          error: { code: "internal_error", message: "Something went wrong on our side." },
        });
      }),
      RUNS,
    );
  });

  it("answers a client error with its own status and message", () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 499 }), fc.string(), (status, message) => {
        const { result } = errorResponse(new ApiError(status, "invalid_request", message));

        expectClientError(result, status);
        expect(JSON.parse(String(result.body)).error.message).toBe(message);
      }),
      RUNS,
    );
  });
});

// ---- the changes feed's cursor -----------------------------------------------------------------------------

const guidLike = (prefix: string) => fc.stringMatching(new RegExp(`^${prefix}-[A-Za-z0-9-]{1,36}$`));
const userIdArb = fc.stringMatching(/^[A-Za-z0-9._:@|+-]{1,128}$/);
const filterArb = fc.record(
  { memberGuid: guidLike("MBR"), accountGuid: guidLike("ACT") },
  { requiredKeys: [] },
);
const positionArb: fc.Arbitrary<FeedPosition> = fc.record(
  {
    seq: fc.nat(),
    since: fc.integer({ min: 1, max: 2 ** 45 }),
    snapshot: fc.record({ accountGuid: guidLike("ACT"), afterGuid: guidLike("TRN") }, { requiredKeys: [] }),
  },
  { requiredKeys: ["seq", "since"] },
);
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Every text made by replacing one character of `text` with another base64url character or a separator. */
function* everyMutationOf(text: string): Generator<string> {
  for (let at = 0; at < text.length; at++) {
    for (const c of `${BASE64URL}.=`) {
      if (c !== text[at]) yield `${text.slice(0, at)}${c}${text.slice(at + 1)}`;
    }
  }
}

describe("the changes feed's cursor", () => {
  const key = randomBytes(32);
  const verify = (cursor: string, userId: string, filter: object, since: number) =>
    verifyFeedCursor(key, cursor, { userId, filter, now: new Date(since + 1000), maxAgeMs: 60_000 });

  it("round-trips: the position signed is the position read back", () => {
    fc.assert(
      fc.property(userIdArb, filterArb, positionArb, (userId, filter, position) => {
        const cursor = signFeedCursor(key, userId, filter, position);

        const read = verify(cursor, userId, filter, position.since);

        expect(read).toEqual(position);
      }),
      RUNS,
    );
  });

  it("a changed character anywhere is refused, whichever character and wherever", () => {
    fc.assert(
      fc.property(userIdArb, filterArb, positionArb, (userId, filter, position) => {
        // Prepare
        const cursor = signFeedCursor(key, userId, filter, position);

        for (const mutated of everyMutationOf(cursor)) {
          // Act
          let read: FeedPosition | undefined;
          try {
            read = verify(mutated, userId, filter, position.since);
          } catch (error) {
            // Assess
            expect(error).toBeInstanceOf(ChangesCursorError);
            continue;
          }
          expect.fail(`${mutated} was accepted as ${JSON.stringify(read)}`);
        }
      }),
      { numRuns: 1 },
    );
  });

  it("is never accepted for another user or another filter", () => {
    fc.assert(
      fc.property(
        userIdArb,
        userIdArb,
        filterArb,
        filterArb,
        positionArb,
        (user, other, filter, otherFilter, position) => {
          const cursor = signFeedCursor(key, user, filter, position);

          if (other !== user) {
            expect(() => verify(cursor, other, filter, position.since)).toThrow(
              expect.objectContaining({ reason: "foreign" }),
            );
          }
          const sameFilter =
            otherFilter.memberGuid === filter.memberGuid && otherFilter.accountGuid === filter.accountGuid;
          if (!sameFilter)
            expect(() => verify(cursor, user, otherFilter, position.since)).toThrow(ChangesCursorError);
        },
      ),
      RUNS,
    );
  });

  it("anything else sent as a cursor is refused as a cursor error, never another failure", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.stringMatching(/^[A-Za-z0-9_-]{0,80}\.[A-Za-z0-9_-]{0,50}$/),
        ),
        (text) => {
          expect(() => verify(text, "user-1", {}, 1)).toThrow(ChangesCursorError);
        },
      ),
      RUNS,
    );
  });
});

// ---- the OAuth state -----------------------------------------------------------------------------------------

describe("the OAuth state", () => {
  const key = randomBytes(32);
  const now = new Date("2026-12-01T12:00:00Z");
  const subjectArb = fc.record({ userId: userIdArb, memberGuid: guidLike("MBR") });

  it("round-trips: a fresh state names its user and member", () => {
    fc.assert(
      fc.property(subjectArb, (subject) => {
        const { token, state } = signOauthState(key, subject, now);

        const verified = verifyOauthState(key, token, now);

        expect(verified).toEqual({ ok: true, state });
        expect(state).toMatchObject(subject);
      }),
      RUNS,
    );
  });

  it("a changed character anywhere is refused as forged, whichever character and wherever", () => {
    fc.assert(
      fc.property(subjectArb, (subject) => {
        // Prepare
        const { token } = signOauthState(key, subject, now);

        for (const mutated of everyMutationOf(token)) {
          // Act
          const verified = verifyOauthState(key, mutated, now);

          // Assess
          expect(verified, mutated).toEqual({ ok: false, reason: "forged" });
        }
      }),
      { numRuns: 1 },
    );
  });

  it("is refused when cut, extended, spliced with another state or made with another key", () => {
    fc.assert(
      fc.property(subjectArb, subjectArb, fc.nat(), fc.string(), (subject, other, cut, tail) => {
        const { token } = signOauthState(key, subject, now);
        const { token: theirs } = signOauthState(key, other, now);
        const { token: foreign } = signOauthState(randomBytes(32), subject, now);
        const [sealed = "", signature = ""] = token.split(".");
        const [theirSealed = "", theirSignature = ""] = theirs.split(".");
        const shorter = token.slice(0, cut % token.length);
        fc.pre(tail.length > 0);

        for (const forged of [
          shorter,
          `${token}${tail}`,
          `${sealed}.${theirSignature}`,
          `${theirSealed}.${signature}`,
          foreign,
        ]) {
          expect(verifyOauthState(key, forged, now)).toEqual({ ok: false, reason: "forged" });
        }
      }),
      RUNS,
    );
  });

  it("expires with its time, and is never accepted once it has", () => {
    fc.assert(
      fc.property(subjectArb, fc.integer({ min: 0, max: 10 * OAUTH_STATE_TTL_MS }), (subject, late) => {
        const { token } = signOauthState(key, subject, now);

        const verified = verifyOauthState(key, token, new Date(now.getTime() + OAUTH_STATE_TTL_MS + late));

        expect(verified).toEqual({ ok: false, reason: "expired" });
      }),
      RUNS,
    );
  });

  it("anything else sent as a state is refused, never a throw", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.stringMatching(/^[A-Za-z0-9_-]{16,200}\.[A-Za-z0-9_-]{43}$/),
        ),
        (text) => {
          expect(verifyOauthState(key, text, now).ok).toBe(false);
        },
      ),
      RUNS,
    );
  });
});

// ---- MX's webhooks -----------------------------------------------------------------------------------------

describe("MX's webhook receiver", () => {
  const credentials = { username: "mx-webhooks", password: "p4ssw0rd-of-24-characters" };
  const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;
  const rightAuth = basic(`${credentials.username}:${credentials.password}`);

  /** Runs the receiver; answers the status a client would see (204 when it returns). */
  async function receive(authorization: string | undefined, body: string | undefined) {
    const sent: RefreshMessage[] = [];
    const deps = {
      credentials: async () => credentials,
      queue: {
        send: async (batch: readonly { message: RefreshMessage }[]) =>
          void sent.push(...batch.map((b) => b.message)),
      },
    };
    try {
      await receiveWebhook(deps, { authorization, body });
      return { status: 204, sent };
    } catch (error) {
      const { result } = errorResponse(error);
      return { status: result.statusCode ?? 500, sent, result };
    }
  }

  it("basic auth: only the exact credentials pass; any header is decided, none throws", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.string().map(basic), fc.constant(rightAuth.toLowerCase())),
        (header) => {
          expect(basicAuthMatches(header, credentials)).toBe(header === rightAuth);
        },
      ),
      RUNS,
    );
  });

  it("without the credentials: 401 whatever the body, nothing enqueued", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ unit: "binary" })),
        fc.option(fc.string({ unit: "binary" })),
        async (auth, body) => {
          fc.pre(auth !== rightAuth);

          const answer = await receive(auth ?? undefined, body ?? undefined);

          expect(answer.status).toBe(401);
          expect(answer.sent).toEqual([]);
          if (answer.result) expectClientError(answer.result, 401);
        },
      ),
      RUNS,
    );
  });

  it("with them: any body is 204 or a 400, and only a member guid is ever enqueued", async () => {
    const webhookish = fc
      .record(
        {
          type: fc.oneof(fc.constantFrom("AGGREGATION", "HISTORY", "CONNECTION_STATUS", null), fc.string()),
          action: fc.oneof(fc.constantFrom("CHANGED", "member_data_updated", null), fc.string()),
          member_guid: fc.oneof(guidLike("MBR"), fc.string({ unit: "binary" }), fc.constant(null)),
          user_id: fc.oneof(userIdArb, fc.string(), fc.constant(null)),
        },
        { requiredKeys: [] },
      )
      .chain((hook) =>
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }).map((extra) => ({ ...extra, ...hook })),
      )
      .map((hook) => JSON.stringify(hook));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          webhookish,
          fc.string({ unit: "binary" }),
          jsonish.map((v) => JSON.stringify(v) ?? ""),
        ),
        async (body) => {
          const answer = await receive(rightAuth, body);

          expect([204, 400]).toContain(answer.status);
          if (answer.result) expectClientError(answer.result, 400);
          for (const message of answer.sent) {
            expect(message).toMatchObject({
              kind: "member",
              memberGuid: expect.stringMatching(/^MBR-[A-Za-z0-9-]{1,64}$/),
            });
          }
        },
      ),
      RUNS,
    );
  });
});

// ---- MX's responses ---------------------------------------------------------------------------------------

describe("the MX response schemas", () => {
  /** Our schema and the spec's component for the same MX object. */
  const objects: [string, z.ZodObject][] = [
    ["UserResponse", mx.userSchema],
    ["InstitutionResponse", mx.institutionSchema],
    ["CredentialResponse", mx.credentialFieldSchema],
    ["MemberResponse", mx.memberSchema],
    ["ChallengeResponse", mx.challengeSchema],
    ["MemberStatusResponse", mx.memberStatusSchema],
    ["AccountOwnerResponse", mx.accountOwnerSchema],
    ["AccountResponse", mx.accountSchema],
    ["TransactionResponse", mx.transactionSchema],
  ];
  /** A value the field takes: one of a few plain candidates. */
  const sampleOf = (field: z.ZodType) =>
    ["GUID-1", 1, true, [], "x"].find((candidate) => field.safeParse(candidate).success);

  it.each(objects)(
    "%s: fields MX adds and nulls or absences where it may send them are read",
    (_name, schema) => {
      const shape = schema.shape as Record<string, z.ZodType>;
      const fields = Object.entries(shape);
      const fieldValues = fields.map(([name, field]) =>
        fc
          .constantFrom(sampleOf(field), null, undefined)
          .filter((v) => field.safeParse(v).success)
          .map((v) => [name, v] as const),
      );
      const added = fc.dictionary(
        fc.string().filter((k) => !(k in shape)),
        fc.jsonValue(),
        { maxKeys: 4 },
      );
      fc.assert(
        fc.property(fc.tuple(...fieldValues), added, (entries, extra) => {
          const record = { ...extra, ...Object.fromEntries(entries.filter(([, v]) => v !== undefined)) };

          expect(schema.safeParse(record).success).toBe(true);
        }),
        RUNS,
      );
    },
  );

  const spec = loadSpec();
  it.skipIf(!spec)(
    "every field MX's spec marks nullable is nullable in ours, but the object's own id (skipped without the spec)",
    () => {
      const strict: string[] = [];
      for (const [component, schema] of objects) {
        const properties = (spec?.components.schemas[component]?.properties ?? {}) as Record<
          string,
          { nullable?: boolean }
        >;
        for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
          if (properties[name]?.nullable && !field.safeParse(null).success)
            strict.push(`${component}.${name}`);
        }
      }
      // The one deviation, on purpose: a row without its guid (an institution without its code) cannot be
      // stored or found again, so a null there fails the response loudly instead.
      const ids = objects.map(
        ([component, schema]) => `${component}.${"code" in schema.shape ? "code" : "guid"}`,
      );
      expect(strict).toEqual(ids);
    },
  );
});

// Errors a developer can act on: each way MX refuses a new member gets its own code and a message that says
// what to send instead, over real HTTP on the embedded stack (the sandbox refuses as MX does), and nothing
// is stored for a refused member.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID, TEST_USERNAME } from "../local/sandbox/index";
import type { RunningAll } from "../local/start";
import { clientFor, startE2e } from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e();
});

afterAll(async () => {
  await app?.close();
});

const username = { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME };
const password = { guid: MXBANK_PASSWORD_GUID, value: "password" };

describe("creating a member MX refuses", () => {
  it.each([
    {
      case: "an unknown institution",
      body: { institution_code: "no_such_bank", credentials: [username, password] },
      code: "unknown_institution",
      message: /no institution no_such_bank.*GET \/v1\/institutions\?name=/,
    },
    {
      case: "a credential field left out",
      body: { institution_code: "mxbank", credentials: [username] },
      code: "credentials_missing",
      message: new RegExp(`mxbank also needs .*${MXBANK_PASSWORD_GUID}`),
    },
    {
      case: "a credential field that is not the institution's",
      body: {
        institution_code: "mxbank",
        credentials: [username, password, { guid: "CRD-not-a-field", value: "x" }],
      },
      code: "credential_unknown",
      message: /CRD-not-a-field is not a credential field of mxbank/,
    },
    {
      case: "is_oauth on an institution without OAuth",
      body: { institution_code: "mxbank", is_oauth: true },
      code: "oauth_not_supported",
      message: /mxbank does not connect through OAuth.*\/v1\/institutions\/mxbank\/credentials/,
    },
    {
      case: "credentials sent to an OAuth-only institution",
      body: { institution_code: "mx_bank_oauth", credentials: [username, password] },
      code: "oauth_required",
      message: /mx_bank_oauth connects through OAuth only.*"is_oauth": true/,
    },
  ])("$case: 422 $code, and no member stored", async ({ body, code, message }) => {
    // Prepare
    const api = await clientFor(app);

    // Act
    const reply = await api.post("/v1/members", body);
    const members = await api.get("/v1/members");

    // Assess
    expect(reply.status).toBe(422);
    expect(reply.body).toEqual({ error: { code, message: expect.stringMatching(message) } });
    expect(members.body.members).toEqual([]);
  });

  it("the credential fields the messages point to answer for a known institution, 404 for an unknown one", async () => {
    // Prepare
    const api = await clientFor(app);

    // Act
    const known = await api.get("/v1/institutions/mxbank/credentials");
    const unknown = await api.get("/v1/institutions/no_such_bank/credentials");

    // Assess
    expect(known.status).toBe(200);
    expect(known.body.credentials.map((field: { guid: string }) => field.guid)).toEqual([
      MXBANK_USERNAME_GUID,
      MXBANK_PASSWORD_GUID,
    ]);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
  });
});

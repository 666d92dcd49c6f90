// Contract: every sandbox response body matches MX's OpenAPI description for that operation and status.
// The spec comes from env MX_OPENAPI_SPEC or <repo>/../shared/mx/openapi-v20111101.yml; absent → skipped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MX_KNOBS, type Sandbox, startSandbox } from "../local/sandbox/index";
import { ROUTES } from "../local/sandbox/routes";
import { type ContractValidator, createContractValidator, loadSpec, specPath } from "./contract-helpers";
import {
  type Call,
  type CallOptions,
  type CallResult,
  createMxbankMember,
  mxbankCredentials,
  mxCaller,
  pollUntilSettled,
} from "./sandbox-helpers";

const spec = loadSpec();
const suite = spec ? describe : describe.skip;
const title = spec
  ? "MX sandbox responses match the MX OpenAPI spec"
  : `MX contract test SKIPPED: no spec at ${specPath()} (set MX_OPENAPI_SPEC to its path)`;

if (!spec) console.warn(title);

interface Recorded {
  method: string;
  template: string;
  status: number;
  body: unknown;
}

suite(title, () => {
  let sandbox: Sandbox;
  let validator: ContractValidator;
  const recorded: Recorded[] = [];

  beforeAll(async () => {
    validator = createContractValidator(spec as NonNullable<typeof spec>);
    // MX-like knobs; the 3-hour rule off so the flow's aggregate really runs (a throttled one is added below).
    sandbox = await startSandbox({
      knobs: MX_KNOBS,
      aggregationMs: 20,
      seed: 3,
      minAggregationIntervalMs: 0,
    });
    const raw = mxCaller(sandbox);
    // Records every response with the spec's template for its path.
    const call: Call = async (method: string, path: string, options?: CallOptions): Promise<CallResult> => {
      const res = await raw(method, path, options);
      const template = validator.templateFor(method, path);
      if (!template) throw new Error(`no spec path for ${method} ${path}`);
      recorded.push({ method, template, status: res.status, body: res.text === "" ? undefined : res.body });
      return res;
    };

    // Users and institutions.
    const user = (
      await call("POST", "/users", { body: { user: { id: "contract", email: "c@example.com" } } })
    ).body.user.guid as string;
    await call("GET", "/users?id=contract");
    await call("GET", `/users/${user}`);
    await call(
      "GET",
      "/institutions?name=mx&supports_account_identification=true&supports_transaction_history=true",
    );
    await call("GET", "/institutions/mxbank");
    await call("GET", "/institutions/mxbank/credentials");

    // A connected credential member, identified, with its data.
    const member = await createMxbankMember(call, user, "password", { id: "m-1", metadata: "meta" });
    await call("GET", `/users/${user}/members/${member}/status`); // while aggregating
    await pollUntilSettled(call, user, member);
    await call("POST", `/users/${user}/members/${member}/identify`);
    await pollUntilSettled(call, user, member);
    await call("POST", `/users/${user}/members/${member}/aggregate`);
    await pollUntilSettled(call, user, member);
    await call("POST", `/users/${user}/members/${member}/extend_history`);
    await pollUntilSettled(call, user, member);
    // Days later: MX's background aggregations brought new data.
    await sandbox.advanceTime(2 * 86_400_000);
    await call("GET", `/users/${user}/members`);
    await call("GET", `/users/${user}/members/${member}`);
    await call("GET", `/users/${user}/members/${member}/challenges`); // 204
    await call("GET", `/users/${user}/members/${member}/account_owners`);
    const accounts = (await call("GET", `/users/${user}/members/${member}/accounts`)).body.accounts as {
      guid: string;
    }[];
    const account = accounts[0]?.guid ?? "";
    await call("GET", `/users/${user}/members/${member}/accounts/${account}`);
    await call("GET", `/users/${user}/accounts`);
    await call("GET", `/users/${user}/accounts/${account}`);
    await call(
      "GET",
      `/users/${user}/members/${member}/transactions?from_date=2000-01-01&records_per_page=1000`,
    );
    await call(
      "GET",
      `/users/${user}/accounts/${account}/transactions?from_date=2000-01-01&records_per_page=1000`,
    );
    await call("GET", `/users/${user}/transactions?records_per_page=10&page=2`);

    // Each MFA type: status and challenges while challenged, then resume (multi: two rounds).
    for (const password of ["challenge", "options", "image", "token", "image_options", "multi"]) {
      const mfa = await createMxbankMember(call, user, password);
      let status = await pollUntilSettled(call, user, mfa);
      while (status.connection_status === "CHALLENGED") {
        await call("GET", `/users/${user}/members/${mfa}/challenges`);
        const challenge = status.challenges[0];
        const value = challenge.options?.[0]?.value === "PHONE_1" ? "PHONE_1" : "correct";
        await call("PUT", `/users/${user}/members/${mfa}/resume`, {
          body: { member: { challenges: [{ guid: challenge.guid, value }] } },
        });
        status = await pollUntilSettled(call, user, mfa);
      }
    }

    // A challenge nobody answers EXPIRES; a DENIED member gets new credentials (PUT) and reconnects.
    // (another user: the same user, institution and credentials again would be a duplicate member)
    const other = (await call("POST", "/users", { body: { user: { id: "contract-2" } } })).body.user
      .guid as string;
    const expiring = await createMxbankMember(call, other, "challenge", { id: "m-expiring" });
    await pollUntilSettled(call, other, expiring);
    await sandbox.advanceTime(MX_KNOBS.challengeExpiryMs + 1);
    await call("GET", `/users/${other}/members/${expiring}/status`);
    const denied = await createMxbankMember(call, user, "UNAUTHORIZED");
    await pollUntilSettled(call, user, denied);
    await call("PUT", `/users/${user}/members/${denied}`, {
      body: { member: { credentials: mxbankCredentials("fixed-password"), metadata: "reconnected" } },
    });
    await pollUntilSettled(call, user, denied);

    // An OAuth member: create (PENDING with a window URI) and a fresh URI.
    const oauth = (
      await call("POST", `/users/${user}/members`, {
        body: {
          member: { institution_code: "mx_bank_oauth", is_oauth: true },
          referral_source: "APP",
          client_redirect_url: "https://app.example/cb",
        },
      })
    ).body.member.guid as string;
    await call("GET", `/users/${user}/members/${oauth}/status`);
    await call("GET", `/users/${user}/members/${oauth}/oauth_window_uri?referral_source=APP`);

    // Deletes last.
    await call("DELETE", `/users/${user}/members/${oauth}`);
    await call("DELETE", `/users/${user}`);
  });
  afterAll(() => sandbox?.close());

  it("every sandbox route is an operation of the spec", () => {
    for (const route of ROUTES) {
      expect(
        validator.operation(route.method, route.template),
        `${route.method} ${route.template}`,
      ).toBeDefined();
    }
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.template}`, r.method, r.template] as const))(
    "%s: bodies validate against the spec",
    (_label, method, template) => {
      // Prepare
      const mine = recorded.filter((r) => r.method === method && r.template === template);
      // Assess
      expect(mine.length, "the flow exercised this route").toBeGreaterThan(0);
      for (const r of mine) {
        expect(r.status, `${method} ${template} succeeded`).toBeLessThan(300);
        const check = validator.validateResponse(method, template, r.status, r.body);
        expect(check.errors, `${check.operationId} ${r.status}`).toEqual([]);
        expect(check.valid).toBe(true);
        // The sandbox invents no fields: everything it sends is described by the spec.
        expect(check.unknownProperties, `${check.operationId} undocumented fields`).toEqual([]);
      }
    },
  );

  it("covered status, challenges of every MFA type and non-empty data lists", () => {
    const bodies = (template: string) => recorded.filter((r) => r.template === template && r.status === 200);
    const challengeTypes = bodies("/users/{user_guid}/members/{member_guid}/challenges").flatMap((r) =>
      (r.body as { challenges: { type: string }[] }).challenges.map((c) => c.type),
    );
    expect(new Set(challengeTypes)).toEqual(
      new Set(["TEXT", "OPTIONS", "IMAGE_DATA", "TOKEN", "IMAGE_OPTIONS"]),
    );
    const statuses = bodies("/users/{user_guid}/members/{member_guid}/status").map(
      (r) => (r.body as { member: { connection_status: string } }).member.connection_status,
    );
    expect(statuses).toEqual(
      expect.arrayContaining([
        "CREATED",
        "CONNECTED",
        "CHALLENGED",
        "PENDING",
        "EXPIRED",
        "DENIED",
        "UPDATED",
      ]),
    );
    for (const [template, key] of [
      ["/users/{user_guid}/members/{member_guid}/account_owners", "account_owners"],
      ["/users/{user_guid}/members/{member_guid}/accounts", "accounts"],
      ["/users/{user_guid}/members/{member_guid}/transactions", "transactions"],
    ] as const) {
      const lists = bodies(template).map((r) => (r.body as Record<string, unknown[]>)[key] ?? []);
      expect(
        lists.some((l) => l.length > 0),
        template,
      ).toBe(true);
    }
  });
});

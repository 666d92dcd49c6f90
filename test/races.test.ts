// Races and replays on the embedded stack (api-fixture.ts: the MX sandbox over HTTP, dynalite, the local
// Step Functions running the synthesized workflow, the API's handlers in-process): concurrent identical
// creates make one MX member, a callback whose first start failed can be retried with the same state,
// and a late MFA answer is refused without reaching MX. MX members are counted at the sandbox. And the
// OAuth state, which travels through MX and the browser, shows neither the user nor the member.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import { AwsApiError, type LocalStepFunctions } from "../local/workflow/executions";
import { memberIdempotencyId } from "../shared/api/idempotency";
import { deriveApiKeys } from "../shared/api/oauth-state";
import {
  API_BASE_URL,
  APP_URL,
  type ApiWorld,
  ENDED,
  mxbankCredentials,
  newUser,
  startApiWorld,
} from "./api-fixture";

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(async () => {
  await world?.close();
});

const OAUTH_BANK = "mx_bank_oauth";
const oauthBody = { institution_code: OAUTH_BANK, is_oauth: true, redirect_url: APP_URL };

/** The user's members as MX itself lists them (the sandbox over HTTP, every page). */
async function membersAtMx(sub: string) {
  const { guid } = await world.stack.mx.createUser({ id: sub }); // 409 at MX: the existing user
  const all = [];
  for (let page = 1; ; page++) {
    const found = await world.stack.mx.listMembers(guid, { page });
    all.push(...found.items);
    if (page >= found.pagination.total_pages) return all;
  }
}

async function createCredentialMember(sub: string, password = "password", extra: object = {}) {
  const res = await world.call("CreateMember", {
    sub,
    body: { institution_code: "mxbank", credentials: mxbankCredentials(password), ...extra },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.member as { guid: string };
}

/** The state in MX's redirect back to our callback, after the user authorized at the bank. */
async function authorizedRedirect(
  windowUri: string,
): Promise<{ state: string; query: Record<string, string> }> {
  const { redirect } = await decideAtBank(windowUri, "authorize");
  expect(redirect.href.startsWith(`${API_BASE_URL}/v1/oauth/callback/`)).toBe(true);
  return {
    state: decodeURIComponent(redirect.pathname.split("/").pop() ?? ""),
    query: Object.fromEntries(redirect.searchParams),
  };
}

describe("concurrent creates of the same member", () => {
  it("five identical OAuth creates at once, from a user who already has a member, make one MX member", async () => {
    // Prepare: the user already has a member (so every create knows the MX user at once).
    const sub = newUser();
    await createCredentialMember(sub);

    // Act
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => world.call("CreateMember", { sub, body: oauthBody })),
    );

    // Assess: each answer is the same member with a window of its own; MX holds one OAuth member.
    for (const res of answers) expect(res.status, res.text).toBe(202);
    const guids = new Set(answers.map((res) => res.body.member.guid));
    expect(guids.size).toBe(1);
    for (const res of answers) expect(res.body.member.oauth_window_uri).toEqual(expect.any(String));
    const atMx = (await membersAtMx(sub)).filter((m) => m.institution_code === OAUTH_BANK);
    expect(atMx.map((m) => m.guid)).toEqual([...guids]);
    const listed = await world.call("ListMembers", { sub });
    expect(listed.body.members.filter((m: { is_oauth: boolean }) => m.is_oauth)).toHaveLength(1);
  });

  it("two creates differing only in identify make one member that identifies (OR), with one first run", async () => {
    // Prepare
    const sub = newUser();

    // Act: the request without identify sent right after the one with it, both in flight together.
    const [withIdentify, without] = await Promise.all([
      world.call("CreateMember", {
        sub,
        body: { institution_code: "mxbank", credentials: mxbankCredentials("password"), identify: true },
      }),
      world.call("CreateMember", {
        sub,
        body: { institution_code: "mxbank", credentials: mxbankCredentials("password"), identify: false },
      }),
    ]);

    // Assess
    expect(withIdentify.status, withIdentify.text).toBe(202);
    expect(without.status, without.text).toBe(202);
    const guid = withIdentify.body.member.guid as string;
    expect(without.body.member.guid).toBe(guid);
    expect(await membersAtMx(sub)).toHaveLength(1);
    const runs = world.started.filter((run) => run.name.startsWith(guid));
    expect(runs.map((run) => run.name)).toEqual([`${guid}-initial`]);
    const member = await world.waitForSync(sub, guid, ENDED);
    expect(member.identify).toBe(true);
  });

  it("a create that finds the same create still in flight past its wait answers 409 create_in_progress with Retry-After", async () => {
    // Prepare: a create of this very member holds the claim (as a request still running elsewhere would).
    const sub = newUser();
    const keys = deriveApiKeys(world.signingSecret);
    const id = memberIdempotencyId(keys.memberId, {
      userId: sub,
      institutionCode: OAUTH_BANK,
      isOauth: true,
    });
    expect(await world.stack.stores.once.claim(`create:${id}`, 30, "elsewhere")).toBe(true);

    // Act
    const res = await world.call("CreateMember", { sub, body: oauthBody });

    // Assess: a defined answer, and nothing made at MX.
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe("create_in_progress");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect(await membersAtMx(sub)).toHaveLength(0);
  });
});

describe("the OAuth callback's start", () => {
  it("a callback whose StartExecution failed can be retried with the same state: the sync starts once", async () => {
    // Prepare: an OAuth member the user authorized at the bank; Step Functions refuses the next start.
    const sub = newUser();
    const created = await world.call("CreateMember", { sub, body: oauthBody });
    expect(created.status, created.text).toBe(202);
    const { guid, oauth_window_uri: windowUri } = created.body.member;
    const { state, query } = await authorizedRedirect(windowUri);
    const real = world.stack.workflow.stepFunctions;
    let refused = 0;
    const failingOnce = new Proxy(real, {
      get(target, property) {
        if (property === "startExecution" && refused === 0) {
          return () => {
            refused += 1;
            throw new AwsApiError("ExecutionLimitExceeded", "Maximum number of running executions");
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as LocalStepFunctions;
    world.stack.aws.attachStepFunctions(failingOnce);

    // Act: the first callback meets the failed start; the browser tries the same URL again.
    let first: Awaited<ReturnType<ApiWorld["call"]>>;
    try {
      first = await world.call("OauthCallback", { sub: null, params: { state }, query });
    } finally {
      world.stack.aws.attachStepFunctions(real);
    }
    const retry = await world.call("OauthCallback", { sub: null, params: { state }, query });
    const replay = await world.call("OauthCallback", { sub: null, params: { state }, query });

    // Assess
    expect(refused).toBe(1);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(retry.status, retry.text).toBe(302);
    expect(retry.headers.location).toContain("status=received");
    expect(replay.status).toBe(409);
    const runs = world.started.filter((run) => run.name.startsWith(guid));
    expect(runs).toHaveLength(1);
    expect((await world.waitForSync(sub, guid, ENDED)).sync.status).toBe("SYNCED");
  });
});

describe("a late MFA answer", () => {
  it("after the run ended is refused with 409 no_challenge and never reaches MX", async () => {
    // Prepare: a member waiting on an MFA question whose run then ends (stopped) while the question is stored.
    const sub = newUser();
    const { guid } = await createCredentialMember(sub, "challenge");
    const challenged = await world.waitForSync(sub, guid, ["CHALLENGED", ...ENDED]);
    expect(challenged.sync.status).toBe("CHALLENGED");
    const prompts = await world.call("GetChallenges", { sub, params: { member_guid: guid } });
    const [question] = prompts.body.challenges as { guid: string }[];
    if (!question) throw new Error("no prompt stored");
    const [run] = world.started.filter((r) => r.name.startsWith(guid));
    if (!run) throw new Error("no run started");
    world.stack.workflow.stepFunctions.stopExecution({ executionArn: world.executionArn(run.name) });
    const resumesBefore = resumesAtMx();

    // Act
    const res = await world.call("AnswerChallenges", {
      sub,
      params: { member_guid: guid },
      body: { challenges: [{ guid: question.guid, value: "correct" }] },
    });

    // Assess
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe("no_challenge");
    expect(resumesAtMx()).toBe(resumesBefore);
  });
});

/** Every reading a curious person might try on a string: as is, URL-decoded, and each way of decoding it. */
function readings(text: string): string[] {
  const found = new Set<string>();
  const pieces = [text, ...text.split(/[./?&=:]/)];
  for (const piece of pieces) {
    for (const plain of [piece, safely(() => decodeURIComponent(piece))]) {
      found.add(plain);
      for (const encoding of ["base64", "base64url", "hex"] as const) {
        const bytes = Buffer.from(plain, encoding);
        for (const charset of ["utf8", "latin1", "utf16le"] as const) {
          const decoded = bytes.toString(charset);
          found.add(decoded);
          found.add(safely(() => JSON.stringify(JSON.parse(decoded))));
        }
      }
    }
  }
  return [...found];
}

const safely = (read: () => string) => {
  try {
    return read();
  } catch {
    return "";
  }
};

describe("the OAuth state", () => {
  it("shows no user id and no member guid, however it is decoded", async () => {
    // Prepare: a user id and the member guid as they would be searched for (whole, and their random part).
    const sub = newUser();
    const created = await world.call("CreateMember", { sub, body: oauthBody });
    expect(created.status, created.text).toBe(202);
    const { guid, oauth_window_uri: windowUri } = created.body.member;
    const { state } = await authorizedRedirect(windowUri);
    const secrets = [sub, sub.replace("user-", ""), guid, guid.replace("MBR-", "")];

    // Act
    const seen = readings(state);

    // Assess: the state still works (the member syncs); nothing readable in it names the user or member.
    expect(seen.length).toBeGreaterThan(10);
    for (const reading of seen) {
      for (const secret of secrets) expect(reading.toLowerCase()).not.toContain(secret.toLowerCase());
    }
    const back = await world.call("OauthCallback", {
      sub: null,
      params: { state },
      query: { status: "success", member_guid: guid },
    });
    expect(back.status, back.text).toBe(302);
  });
});

describe("an MFA answer Step Functions cannot check", () => {
  it("is kept back (not sent to MX) and can be sent again: the run then resumes and syncs", async () => {
    // Prepare: a member waiting on an MFA question; Step Functions fails while the answer is checked.
    const sub = newUser();
    const { guid } = await createCredentialMember(sub, "challenge");
    const challenged = await world.waitForSync(sub, guid, ["CHALLENGED", ...ENDED]);
    expect(challenged.sync.status).toBe("CHALLENGED");
    const prompts = await world.call("GetChallenges", { sub, params: { member_guid: guid } });
    const [question] = prompts.body.challenges as { guid: string }[];
    if (!question) throw new Error("no prompt stored");
    const answer = { challenges: [{ guid: question.guid, value: "correct" }] };
    const real = world.stack.workflow.stepFunctions;
    const failingChecks = new Proxy(real, {
      get(target, property) {
        if (property === "pendingTaskTokens") {
          return () => {
            throw new Error("Step Functions is unavailable");
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as LocalStepFunctions;
    const resumesBefore = resumesAtMx();

    // Act
    world.stack.aws.attachStepFunctions(failingChecks);
    let first: Awaited<ReturnType<ApiWorld["call"]>>;
    try {
      first = await world.call("AnswerChallenges", { sub, params: { member_guid: guid }, body: answer });
    } finally {
      world.stack.aws.attachStepFunctions(real);
    }
    const resumesAfterFirst = resumesAtMx();
    const again = await world.call("AnswerChallenges", { sub, params: { member_guid: guid }, body: answer });

    // Assess
    expect(first.status).toBe(500);
    expect(resumesAfterFirst).toBe(resumesBefore);
    expect(again.status, again.text).toBe(202);
    expect(resumesAtMx()).toBe(resumesBefore + 1);
    expect((await world.waitForSync(sub, guid, ENDED)).sync.status).toBe("SYNCED");
  });
});

const resumesAtMx = () =>
  world.sandbox.stats().byRoute["PUT /users/{user_guid}/members/{member_guid}/resume"] ?? 0;

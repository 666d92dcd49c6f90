// Every request the product sends to MX validates against MX's OpenAPI description: the API routes, the
// sync workflow (identify, extended history, MFA rounds, OAuth, reconnect, a user's refresh) and the
// background refresh, all on the embedded stack. The product's requests are recorded on their way out of
// this process (the handlers run in-process) and sent on unchanged to the sandbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAtBank } from "../local/client";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import type { RunningAll } from "../local/start";
import type { MemberView } from "../shared/api/schemas";
import { createContractValidator, loadSpec } from "./contract-helpers";
import {
  APP_URL,
  type ApiClient,
  browserGet,
  clientFor,
  createCredentialMember,
  mxbankCredentials,
  startE2e,
  waitForChallenge,
  waitForSync,
} from "./fixtures/e2e";

interface SentRequest {
  method: string;
  url: string;
  body: unknown;
}

const DAY_MS = 86_400_000;
const spec = loadSpec();

describe.skipIf(!spec)("requests the product sends to MX", () => {
  let app: RunningAll;
  const sent: SentRequest[] = [];
  const originalFetch = globalThis.fetch;

  beforeAll(async () => {
    app = await startE2e({
      stack: {
        // MX's newer date-range cap on, and a year of data so that several windows are read.
        sandbox: { aggregationMs: 30, historyDays: 365, maxDateRangeDays: 183 },
        waitScale: 0.002,
        env: { EXTENDED_HISTORY: "true", POLL_JOB_START_GRACE_SECONDS: "1" },
      },
    });
    const mxUrl = app.stack.sandbox?.url ?? "";
    globalThis.fetch = async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      // MX API calls only (they carry MX's versioned Accept header), not the browser's hops at the bank.
      const accept = new Headers(init?.headers).get("accept") ?? "";
      if (mxUrl && url.startsWith(mxUrl) && accept.includes("vnd.mx.api")) {
        const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
        sent.push({ method: (init?.method ?? "GET").toUpperCase(), url: url.slice(mxUrl.length), body });
      }
      return originalFetch(input, init);
    };
  });
  afterAll(async () => {
    globalThis.fetch = originalFetch;
    await app?.close();
  });

  it("validate, for every operation the product uses", async () => {
    // Prepare
    const validator = createContractValidator(spec ?? { paths: {}, components: { schemas: {} } });
    const sandbox = app.stack.sandbox;
    if (!sandbox) throw new Error("the e2e stack runs on the sandbox");
    const api = await clientFor(app);

    // Act: a credential member with identity and extended history, a two-round MFA member, an OAuth member,
    // a denied member reconnected with new credentials, a user's refresh, a day of background refresh.
    const plain = await createCredentialMember(api, "password", { identify: true });
    const mfa = await createCredentialMember(api, "multi");
    await answerEveryRound(api, mfa.guid);
    const oauth = await api.createMember({
      institution_code: "mx_bank_oauth",
      is_oauth: true,
      redirect_url: APP_URL,
    });
    const { redirect } = await decideAtBank(oauth.oauth_window_uri ?? "", "authorize");
    expect((await browserGet(redirect.href)).status).toBe(302); // our callback starts the sync
    const denied = await createCredentialMember(api, "INVALID");
    expect((await waitForSync(api, denied.guid)).sync.status).toBe("NEEDS_USER");
    // Other credentials than the first member's: MX refuses two members of one user with the same ones.
    await api.reconnect(denied.guid, await mxbankCredentials(api, "another-password"));
    for (const guid of [plain.guid, mfa.guid, oauth.guid, denied.guid]) await syncedAfter(api, guid, "");

    await sandbox.clock.advance(sandbox.knobs.minAggregationIntervalMs + 1_000);
    const before = await waitForSync(api, plain.guid);
    expect((await api.post(`/v1/members/${plain.guid}/sync`)).status).toBe(202);
    await syncedAfter(api, plain.guid, before.sync.finished_at ?? "");

    await sandbox.advanceTime(DAY_MS);
    await app.stack.refresh.drain();
    await app.stack.refresh.sweep();
    await app.stack.refresh.drain();
    expect((await api.deleteMember(mfa.guid)).deleting).toBe(true);

    // Assess
    const problems = sent.flatMap(({ method, url, body }) => {
      const check = validator.validateRequest(method, url, body);
      // The one documented deviation: the spec marks `credentials` required, but MX's OAuth guide creates an
      // OAuth member without them ("you cannot include end-user credentials"), and so does the product.
      if (isOauthCreate(body)) check.errors = check.errors.filter((e) => !e.includes("'credentials'"));
      check.valid = check.errors.length === 0;
      const unknown = check.unknownProperties.map(
        (path) => `sends ${path}, which the spec does not describe`,
      );
      return check.valid && unknown.length === 0
        ? []
        : [`${method} ${url.split("?")[0]}: ${[...check.errors, ...unknown].join(", ")}`];
    });
    expect(problems).toEqual([]);
    const operations = new Set(
      sent.map(({ method, url }) => validator.validateRequest(method, url, undefined).operationId),
    );
    for (const operationId of [
      "createUser",
      "createMember",
      "readMemberStatus",
      "identifyMember",
      "extendHistory",
      "listMemberChallenges",
      "resumeAggregation",
      "updateMember",
      "aggregateMember",
      "listAccountOwnersByMember",
      "listMemberAccounts",
      "listTransactionsByMember",
      "deleteMember",
    ]) {
      expect(operations, operationId).toContain(operationId);
    }
  });
});

function isOauthCreate(body: unknown): boolean {
  const member = (body as { member?: { is_oauth?: unknown } } | undefined)?.member;
  return member?.is_oauth === true;
}

/** Answers each MFA round as it comes: the first option where there are options, else the right code. */
async function answerEveryRound(api: ApiClient, guid: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const member = await waitForChallenge(api, guid);
    if (!member.challenges_waiting) return;
    const prompts = await api.challenges(guid);
    await api.answerChallenges(
      guid,
      prompts.map((prompt) => ({
        guid: prompt.guid,
        value: prompt.options?.[0]?.value ?? prompt.image_options?.[0]?.value ?? CORRECT_ANSWER,
      })),
    );
    // The answer was taken: wait until MX has moved on from this round before looking for the next.
    await waitUntil(
      api,
      guid,
      (seen) => !seen.challenges_waiting || seen.challenges?.[0]?.guid !== prompts[0]?.guid,
    );
  }
}

async function waitUntil(api: ApiClient, guid: string, done: (member: MemberView) => boolean) {
  let member = await api.getMember(guid);
  for (let poll = 0; poll < 400 && !done(member); poll++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    member = await api.getMember(guid);
  }
  if (done(member)) return member;
  throw new Error(`member ${guid} never reached the state waited for: ${JSON.stringify(member.sync)}`);
}

/** Waits for a SYNCED run that finished after `previousFinishedAt`. */
async function syncedAfter(api: ApiClient, guid: string, previousFinishedAt: string): Promise<MemberView> {
  const member = await waitUntil(
    api,
    guid,
    (seen) => seen.sync.status === "SYNCED" && (seen.sync.finished_at ?? "") > previousFinishedAt,
  );
  return member;
}

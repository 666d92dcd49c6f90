// The sync workflow's connect phase (Begin, Poll, AwaitChallenge, Identify) and the API's MFA answer, on the
// embedded stack (local/stack.ts): the MX sandbox over HTTP, the real MX client, dynalite, and the local
// Step Functions endpoint reached by the real SDK. The MFA tests park a real sync run on its task token
// (the synthesized state machine, its AwaitChallenge task run by the real handler) and answer through the
// real endpoint: what the run does next is read back from Step Functions and the member record.
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack, type TableStores } from "../local/stack";
import { NoChallengeError, UnprocessableRequestError } from "../shared/domain/errors";
import { MxNotFoundError } from "../shared/mx/errors";
import { answerChallenge } from "../shared/sync/answer-challenge";
import { awaitChallenge } from "../shared/sync/await-challenge";
import { beginSync } from "../shared/sync/begin-sync";
import type { PollOutput, SyncRequest } from "../shared/sync/contract";
import { identifyMember } from "../shared/sync/identify-member";
import { MEMBER_NOT_FOUND, pollMember } from "../shared/sync/poll-member";
import { createSfnPort, type SfnPort } from "../shared/sync/sfn";

let stack: LocalStack;
/** A fresh table per test for the use cases called directly; the parked runs use the stack's table. */
let stores: TableStores;
let sfn: SfnPort;
let sfnClient: SFNClient;

const BEGIN = { leaseSeconds: 3600, initialHistoryDays: 730, refreshWindowDays: 14 };
const POLL = { phaseLimitSeconds: 900, maxWaitSeconds: 60 };
const CHALLENGE = { challengeTimeoutSeconds: 600 };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await startLocalStack({
    sandbox: { aggregationMs: 40 },
    // The parked runs' Wait states a fraction of their length; the MFA window stays real (nobody waits).
    waitScale: 0.002,
    env: { LOG_LEVEL: "SILENT" },
    // Fast MX retries: the tests exercise outcomes, not backoff timing.
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  // The SDK finds the local endpoint through AWS_ENDPOINT_URL_SFN, which the stack set.
  sfnClient = new SFNClient({});
  sfn = createSfnPort(sfnClient);
});
afterAll(async () => {
  sfnClient?.destroy();
  await stack?.close();
});
beforeEach(async () => {
  stores = await stack.freshStores();
});

/** An MX user + mxbank member whose password picks the outcome, stored as our member in `on`. */
const connect = (password: string, options: { identify?: boolean } = {}, on: TableStores = stores) =>
  connectMxbankMember({ mx: stack.mx, members: on.members }, password, options);

/** Polls as the state machine would (without its waits) until the phase is not AGGREGATING. */
async function pollUntilSettled(request: SyncRequest, syncRun: string): Promise<PollOutput> {
  const phaseStartedAt = Date.now();
  for (let attempt = 0; attempt < 200; attempt++) {
    const result = await pollMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun, phaseStartedAt },
      POLL,
    );
    if (result.phase !== "AGGREGATING") return result;
    await sleep(10);
  }
  throw new Error("the member never settled");
}

/** Waits, reading MX directly, until the member's current MX job is over. */
async function aggregated(request: SyncRequest): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const status = await stack.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    if (!status.is_being_aggregated && status.connection_status === "CONNECTED") return;
    await sleep(10);
  }
  throw new Error("the member never connected");
}

interface Parked {
  request: SyncRequest;
  executionArn: string;
  /** The run's name: the syncRun its tasks carry. */
  syncRun: string;
  taskToken: string;
}

/**
 * Starts a real sync run (on the stack's table) for a member whose password makes MX ask, and resolves once
 * the run waits on its AwaitChallenge task token: the real challenge handler has stored prompts and token.
 */
async function parkedOnChallenge(password: string): Promise<Parked> {
  const { request } = await connect(password, {}, stack.stores);
  const { executionArn } = stack.workflow.startExecution(request);
  for (let attempt = 0; attempt < 400; attempt++) {
    const [pending] = stack.workflow.pendingTaskTokens(executionArn);
    // The token is issued as the task starts; the handler stores it with the prompts a moment later.
    const member = pending && (await stack.stores.members.getMember(request.userId, request.memberGuid));
    if (pending && member && member.challengeTaskToken === pending.taskToken) {
      expect(pending.stateName).toBe("AwaitChallenge");
      const syncRun = executionArn.split(":").at(-1) ?? "";
      return { request, executionArn, syncRun, taskToken: pending.taskToken };
    }
    await sleep(10);
  }
  throw new Error(
    `the run never waited for an MFA answer: ${JSON.stringify(stack.workflow.stepFunctions.describeExecution({ executionArn }))}`,
  );
}

/** What the run's AwaitChallenge task handed on: SendTaskSuccess's output through the task's selector. */
function challengeResults(executionArn: string): unknown[] {
  return stack.workflow.stepFunctions
    .history(executionArn)
    .filter((event) => event.type === "StateExited" && event.state.name === "AwaitChallenge")
    .map((event) => ("state" in event ? (event.state.output as { phase?: unknown }).phase : undefined));
}

describe("beginSync", () => {
  it("takes the member's lease for one run, refuses a second run, and lets the same run retry", async () => {
    // Prepare
    const { request } = await connect("good-password");
    const deps = { mx: stack.mx, members: stores.members, clock: () => new Date("2026-03-10T08:00:00Z") };

    // Act
    const first = await beginSync(deps, { request, syncRun: "run-1" }, BEGIN);
    const other = await beginSync(deps, { request, syncRun: "run-2" }, BEGIN);
    const retried = await beginSync(deps, { request, syncRun: "run-1" }, BEGIN);

    // Assess
    expect(first).toMatchObject({
      acquired: true,
      startedAt: Date.parse("2026-03-10T08:00:00Z"),
      window: { from: "2024-03-10", to: "2026-03-15" },
      // A brand-new member: its first aggregation was asked for at create, so any success is it.
      baseline: null,
      extendHistory: false,
    });
    expect(other.acquired).toBe(false);
    expect(retried.acquired).toBe(true);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "CONNECTING", syncRun: "run-1" });
  });

  it("on a refresh asks MX to aggregate and reads a recent window only", async () => {
    // Prepare
    const { request } = await connect("good-password");
    await aggregated(request);
    // MX aggregates again only 3 hours after a successful aggregation.
    await stack.sandbox?.advanceTime(3 * 3_600_000 + 60_000);
    const refresh: SyncRequest = { ...request, mode: "refresh" };
    const deps = { mx: stack.mx, members: stores.members, clock: () => new Date("2026-03-10T08:00:00Z") };

    // Act
    const result = await beginSync(deps, { request: refresh, syncRun: "refresh-1" }, BEGIN);
    const status = await stack.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);

    // Assess
    expect(result.window).toEqual({ from: "2026-02-24", to: "2026-03-15" });
    expect(result.windows).toEqual([result.window]);
    expect(status.is_being_aggregated).toBe(true);
    // MX answered that the job is under way: its end is the next idle CONNECTED (no baseline to pass).
    expect(result.baseline).toBeNull();
  });
});

describe("a refresh MX declines (the 3-hour rule)", () => {
  it("keeps polling within the start grace, then says DECLINED with MX's data time", async () => {
    // Prepare: a member MX aggregated just now, so a refresh is answered 202 and runs nothing.
    const { request } = await connect("good-password");
    await aggregated(request);
    const before = await stack.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    const refresh: SyncRequest = { ...request, mode: "refresh" };
    const begun = await beginSync(
      { mx: stack.mx, members: stores.members },
      { request: refresh, syncRun: "refresh-1" },
      BEGIN,
    );
    const input = { request: refresh, syncRun: "refresh-1", phaseStartedAt: begun.startedAt };
    const at = (seconds: number) => () => new Date(begun.startedAt + seconds * 1000);

    // Act
    const early = await pollMember(
      { mx: stack.mx, members: stores.members, clock: at(5) },
      { ...input, baseline: begun.baseline },
      { ...POLL, startGraceSeconds: 30 },
    );
    const late = await pollMember(
      { mx: stack.mx, members: stores.members, clock: at(31) },
      { ...input, baseline: begun.baseline },
      { ...POLL, startGraceSeconds: 30 },
    );

    // Assess
    expect(begun.baseline).toBe(before.successfully_aggregated_at);
    expect(early).toMatchObject({ phase: "AGGREGATING", connectionStatus: "CONNECTED" });
    expect(late).toMatchObject({ phase: "DECLINED", dataAsOf: before.successfully_aggregated_at });
  });
});

describe("pollMember", () => {
  it.each([
    ["good-password", "CONNECTED", "CONNECTED"],
    ["challenge", "CHALLENGED", "CHALLENGED"],
    ["UNAUTHORIZED", "NEEDS_USER", "DENIED"],
    ["LOCKED", "NEEDS_USER", "LOCKED"],
    ["BAD_REQUEST", "FAILED", "FAILED"],
    ["SERVER_ERROR", "FAILED", "FAILED"],
  ])(
    "classifies password %s as %s (%s) and records the status on the member",
    async (password, phase, status) => {
      // Prepare
      const { request } = await connect(password);
      await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);

      // Act
      const result = await pollUntilSettled(request, "run-1");

      // Assess
      expect(result).toMatchObject({ phase, connectionStatus: status });
      expect(result.waitSeconds).toBeGreaterThanOrEqual(3);
      const member = await stores.members.getMember(request.userId, request.memberGuid);
      expect(member?.connectionStatus).toBe(status);
    },
  );

  it("ends a phase that aggregates past the limit as TIMED_OUT, with a wait that grows with the time waited", async () => {
    // Prepare: a member whose aggregation outlasts the test.
    stack.sandbox?.setKnobs({ aggregationMs: 600_000 });
    const { request } = await connect("good-password").finally(() =>
      stack.sandbox?.setKnobs({ aggregationMs: 40 }),
    );
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    const now = new Date("2026-03-10T08:00:00Z");
    const deps = { mx: stack.mx, members: stores.members, clock: () => now, random: () => 0.5 };
    const input = (secondsAgo: number) => ({
      request,
      syncRun: "run-1",
      phaseStartedAt: now.getTime() - secondsAgo * 1000,
    });

    // Act
    const early = await pollMember(deps, input(0), POLL);
    const late = await pollMember(deps, input(901), POLL);

    // Assess
    expect(early).toMatchObject({ phase: "AGGREGATING", waitSeconds: 3, elapsedSeconds: 0 });
    expect(late).toMatchObject({ phase: "TIMED_OUT", elapsedSeconds: 901, waitSeconds: 60 });
  });

  it("turns a member deleted at MX into phase FAILED rather than an error", async () => {
    // Prepare
    const { request } = await connect("good-password");
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await stack.mx.deleteMember(request.mxUserGuid, request.memberGuid);

    // Act
    const result = await pollMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun: "run-1", phaseStartedAt: Date.now() },
      POLL,
    );

    // Assess
    expect(result).toMatchObject({ phase: "FAILED", connectionStatus: MEMBER_NOT_FOUND });
  });
});

describe("awaitChallenge and answerChallenge", () => {
  it("stores the prompts and the token; the answer resumes MX and the run, once", async () => {
    // Prepare: a real run waits on its token.
    const parked = await parkedOnChallenge("challenge");
    const { request, syncRun, taskToken } = parked;
    const deps = { mx: stack.mx, members: stack.stores.members, sfn };

    // Act: the Challenge task again (a Lambda retry stores the same), then the answer, then a second one.
    const waiting = await awaitChallenge(deps, { request, syncRun, taskToken, round: 1 }, CHALLENGE);
    const shown = await stack.stores.members.getMember(request.userId, request.memberGuid);
    const guid = shown?.challenges?.[0]?.guid ?? "";
    const answers = [{ guid, value: CORRECT_ANSWER }];
    const answered = await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers },
      CHALLENGE,
    );
    const again = await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers },
      CHALLENGE,
    ).catch((error: unknown) => error);
    const run = await stack.workflow.waitForExecution(parked.executionArn);

    // Assess
    expect(waiting).toEqual({ waiting: true, challenges: 1 });
    expect(shown?.sync.status).toBe("CHALLENGED");
    expect(shown?.challenges).toHaveLength(1);
    expect(shown?.challengeTaskToken).toBe(taskToken);
    expect(answered).toEqual({ resumed: true });
    // One SendTaskSuccess reached the run, carrying the new phase's start; the token is spent.
    expect(challengeResults(parked.executionArn)).toEqual([{ startedAt: expect.any(Number) }]);
    expect(await sfn.sendTaskSuccess(taskToken, { phaseStartedAt: Date.now() })).toBe(false);
    expect(again).toBeInstanceOf(NoChallengeError);
    // Polled again after the answer, MX said CONNECTED: the run went on to sync.
    expect(run.status).toBe("SUCCEEDED");
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.connectionStatus).toBe("CONNECTED");
    expect(member?.sync.status).toBe("SYNCED");
    expect(member?.challengeTaskToken).toBeUndefined();
    expect(member?.challenges).toBeUndefined();
  });

  it("never stores the answer; a wrong one ends NEEDS_USER (REJECTED)", async () => {
    // Prepare
    const parked = await parkedOnChallenge("image");
    const { request } = parked;
    const deps = { mx: stack.mx, members: stack.stores.members, sfn };
    const guid =
      (await stack.stores.members.getMember(request.userId, request.memberGuid))?.challenges?.[0]?.guid ?? "";
    const answer = "wrong-answer-7f3a9c";

    // Act
    await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid, value: answer }] },
      CHALLENGE,
    );
    await stack.workflow.waitForExecution(parked.executionArn);

    // Assess: the run's next poll saw REJECTED and ended the sync needing the user.
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    expect(member).toMatchObject({ connectionStatus: "REJECTED", sync: { status: "NEEDS_USER" } });
    const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
    const stored = await doc.send(new ScanCommand({ TableName: stack.stores.tableName }));
    expect(JSON.stringify(stored.Items)).not.toContain(answer);
  });

  it("rejects answers that do not fit the waiting prompts, keeping the token", async () => {
    // Prepare
    const parked = await parkedOnChallenge("challenge");
    const { request } = parked;

    // Act
    const error = await answerChallenge(
      { mx: stack.mx, members: stack.stores.members, sfn },
      {
        userId: request.userId,
        memberGuid: request.memberGuid,
        answers: [{ guid: "CRD-not-asked", value: "x" }],
      },
      CHALLENGE,
    ).catch((failure: unknown) => failure);

    // Assess: the member keeps the token and the run still waits on it (no SendTaskSuccess was sent).
    expect(error).toBeInstanceOf(UnprocessableRequestError);
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBe(parked.taskToken);
    expect(stack.workflow.pendingTaskTokens(parked.executionArn).map((p) => p.taskToken)).toEqual([
      parked.taskToken,
    ]);
    expect(challengeResults(parked.executionArn)).toEqual([]);
    stack.workflow.stepFunctions.stopExecution({ executionArn: parked.executionArn });
  });

  it("answers no_challenge (the API's 409) when nothing waits", async () => {
    // Prepare
    const { request } = await connect("good-password");

    // Act
    const error = await answerChallenge(
      { mx: stack.mx, members: stores.members, sfn },
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid: "CRD-x", value: "x" }] },
      CHALLENGE,
    ).catch((failure: unknown) => failure);

    // Assess
    expect(error).toBeInstanceOf(NoChallengeError);
  });

  it("resumes its own run at once when MX has no challenge any more, so the run never waits in vain", async () => {
    // Prepare: a run waits on its token; then MX stops asking (answered there) and the member connects.
    const parked = await parkedOnChallenge("challenge");
    const { request, syncRun, taskToken } = parked;
    const [prompt] = await stack.mx.listChallenges(request.mxUserGuid, request.memberGuid);
    await stack.mx.resumeMember(request.mxUserGuid, request.memberGuid, [
      { guid: prompt?.guid ?? "", value: CORRECT_ANSWER },
    ]);
    await aggregated(request);

    // Act: the Challenge task of a later round; MX answers 204 to the challenges call.
    const result = await awaitChallenge(
      { mx: stack.mx, members: stack.stores.members, sfn },
      { request, syncRun, taskToken, round: 2 },
      CHALLENGE,
    );
    const run = await stack.workflow.waitForExecution(parked.executionArn);

    // Assess
    expect(result).toEqual({ waiting: false, challenges: 0 });
    expect(challengeResults(parked.executionArn)).toEqual([{ startedAt: expect.any(Number) }]);
    expect(run.status).toBe("SUCCEEDED");
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBeUndefined();
  });
});

describe("identifyMember", () => {
  it("starts an identify job at MX and a new polling phase that ends CONNECTED", async () => {
    // Prepare
    const { request } = await connect("good-password", { identify: true });
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await pollUntilSettled(request, "run-1");

    // Act
    const result = await identifyMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun: "run-1" },
    );
    const after = await pollUntilSettled(request, "run-1");

    // Assess
    expect(result.phaseStartedAt).toEqual(expect.any(Number));
    expect(after.phase).toBe("CONNECTED");
  });

  it("lets an MX 404 surface as the typed error the workflow catches", async () => {
    // Prepare
    const { request } = await connect("good-password");
    await beginSync({ mx: stack.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await stack.mx.deleteMember(request.mxUserGuid, request.memberGuid);

    // Act
    const error = await identifyMember(
      { mx: stack.mx, members: stores.members },
      { request, syncRun: "run-1" },
    ).catch((failure: unknown) => failure);

    // Assess
    expect(error).toBeInstanceOf(MxNotFoundError);
  });
});

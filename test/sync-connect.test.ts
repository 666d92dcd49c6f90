// The sync workflow's connect phase (Begin, Poll, AwaitChallenge, Identify) and the API's MFA answer,
// against the MX sandbox over HTTP, the real MX client and dynalite. Step Functions is mocked with
// aws-sdk-client-mock: only the calls the use cases make to it are observed.
import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import { ConflictError, UnprocessableError } from "../shared/api/errors";
import { MxNotFoundError } from "../shared/mx/errors";
import { answerChallenge } from "../shared/sync/answer-challenge";
import { awaitChallenge } from "../shared/sync/await-challenge";
import { beginSync } from "../shared/sync/begin-sync";
import type { PollOutput, SyncRequest } from "../shared/sync/contract";
import { identifyMember } from "../shared/sync/identify-member";
import { MEMBER_NOT_FOUND, pollMember } from "../shared/sync/poll-member";
import { createSfnPort } from "../shared/sync/sfn";
import { type SyncWorld, sleep, startSyncWorld, type TestStores } from "./sync-fixture";

let world: SyncWorld;
let stores: TestStores;
const sfnClient = new SFNClient({
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
});
const sfnMock = mockClient(sfnClient);
const sfn = createSfnPort(sfnClient);

const BEGIN = { leaseSeconds: 3600, initialHistoryDays: 730, refreshWindowDays: 14 };
const POLL = { phaseLimitSeconds: 900, maxWaitSeconds: 60 };
const CHALLENGE = { challengeTimeoutSeconds: 600 };

beforeAll(async () => {
  world = await startSyncWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  stores = await world.freshStores();
  sfnMock.reset();
  sfnMock.on(SendTaskSuccessCommand).resolves({});
});

/** Polls as the state machine would (without its waits) until the phase is not AGGREGATING. */
async function pollUntilSettled(request: SyncRequest, syncRun: string): Promise<PollOutput> {
  const phaseStartedAt = Date.now();
  for (let attempt = 0; attempt < 200; attempt++) {
    const result = await pollMember(
      { mx: world.mx, members: stores.members },
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
    const status = await world.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
    if (!status.is_being_aggregated && status.connection_status === "CONNECTED") return;
    await sleep(10);
  }
  throw new Error("the member never connected");
}

/** The JSON body of every SendTaskSuccess the use cases sent, with its token. */
function taskSuccesses() {
  return sfnMock.commandCalls(SendTaskSuccessCommand).map((call) => ({
    taskToken: call.args[0].input.taskToken,
    output: JSON.parse(call.args[0].input.output ?? "null"),
  }));
}

describe("beginSync", () => {
  it("takes the member's lease for one run, refuses a second run, and lets the same run retry", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password");
    const deps = { mx: world.mx, members: stores.members, clock: () => new Date("2026-03-10T08:00:00Z") };

    // Act
    const first = await beginSync(deps, { request, syncRun: "run-1" }, BEGIN);
    const other = await beginSync(deps, { request, syncRun: "run-2" }, BEGIN);
    const retried = await beginSync(deps, { request, syncRun: "run-1" }, BEGIN);

    // Assess
    expect(first).toEqual({
      acquired: true,
      startedAt: Date.parse("2026-03-10T08:00:00Z"),
      window: { from: "2024-03-10", to: "2026-03-15" },
    });
    expect(other.acquired).toBe(false);
    expect(retried.acquired).toBe(true);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: "CONNECTING", syncRun: "run-1" });
  });

  it("on a refresh asks MX to aggregate and reads a recent window only", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password");
    await aggregated(request);
    const refresh: SyncRequest = { ...request, mode: "refresh" };
    const deps = { mx: world.mx, members: stores.members, clock: () => new Date("2026-03-10T08:00:00Z") };

    // Act
    const result = await beginSync(deps, { request: refresh, syncRun: "refresh-1" }, BEGIN);
    const status = await world.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);

    // Assess
    expect(result.window).toEqual({ from: "2026-02-24", to: "2026-03-15" });
    expect(status.is_being_aggregated).toBe(true);
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
      const { request } = await world.connect(stores, password);
      await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);

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
    world.sandbox.setKnobs({ aggregationMs: 600_000 });
    const { request } = await world
      .connect(stores, "good-password")
      .finally(() => world.sandbox.setKnobs({ aggregationMs: 40 }));
    await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    const now = new Date("2026-03-10T08:00:00Z");
    const deps = { mx: world.mx, members: stores.members, clock: () => now, random: () => 0.5 };
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
    const { request } = await world.connect(stores, "good-password");
    await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await world.mx.deleteMember(request.mxUserGuid, request.memberGuid);

    // Act
    const result = await pollMember(
      { mx: world.mx, members: stores.members },
      { request, syncRun: "run-1", phaseStartedAt: Date.now() },
      POLL,
    );

    // Assess
    expect(result).toMatchObject({ phase: "FAILED", connectionStatus: MEMBER_NOT_FOUND });
  });
});

describe("awaitChallenge and answerChallenge", () => {
  async function challenged(password: string) {
    const connected = await world.connect(stores, password);
    await beginSync(
      { mx: world.mx, members: stores.members },
      { request: connected.request, syncRun: "run-1" },
      BEGIN,
    );
    await pollUntilSettled(connected.request, "run-1");
    return connected.request;
  }

  it("stores the prompts and the token; the answer resumes MX and the run, once", async () => {
    // Prepare
    const request = await challenged("challenge");
    const deps = { mx: world.mx, members: stores.members, sfn };

    // Act
    const waiting = await awaitChallenge(
      deps,
      { request, syncRun: "run-1", taskToken: "token-1", round: 1 },
      CHALLENGE,
    );
    const shown = await stores.members.getMember(request.userId, request.memberGuid);
    const guid = shown?.challenges?.[0]?.guid ?? "";
    const answered = await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid, value: CORRECT_ANSWER }] },
      CHALLENGE,
    );
    const again = await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid, value: CORRECT_ANSWER }] },
      CHALLENGE,
    ).catch((error: unknown) => error);
    const after = await pollUntilSettled(request, "run-1");

    // Assess
    expect(waiting).toEqual({ waiting: true, challenges: 1 });
    expect(shown?.sync.status).toBe("CHALLENGED");
    expect(shown?.challenges).toHaveLength(1);
    expect(answered).toEqual({ resumed: true });
    expect(taskSuccesses()).toEqual([
      { taskToken: "token-1", output: { phaseStartedAt: expect.any(Number) } },
    ]);
    expect(again).toBeInstanceOf(ConflictError);
    expect(after.phase).toBe("CONNECTED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBeUndefined();
    expect(member?.challenges).toBeUndefined();
  });

  it("never stores the answer; a wrong one ends NEEDS_USER (REJECTED)", async () => {
    // Prepare
    const request = await challenged("image");
    const deps = { mx: world.mx, members: stores.members, sfn };
    await awaitChallenge(deps, { request, syncRun: "run-1", taskToken: "token-2", round: 1 }, CHALLENGE);
    const guid =
      (await stores.members.getMember(request.userId, request.memberGuid))?.challenges?.[0]?.guid ?? "";
    const answer = "wrong-answer-7f3a9c";

    // Act
    await answerChallenge(
      deps,
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid, value: answer }] },
      CHALLENGE,
    );
    const result = await pollUntilSettled(request, "run-1");

    // Assess
    expect(result).toMatchObject({ phase: "NEEDS_USER", connectionStatus: "REJECTED" });
    const stored = await world.doc.send(new ScanCommand({ TableName: stores.tableName }));
    expect(JSON.stringify(stored.Items)).not.toContain(answer);
  });

  it("rejects answers that do not fit the waiting prompts, keeping the token", async () => {
    // Prepare
    const request = await challenged("challenge");
    const deps = { mx: world.mx, members: stores.members, sfn };
    await awaitChallenge(deps, { request, syncRun: "run-1", taskToken: "token-3", round: 1 }, CHALLENGE);

    // Act
    const error = await answerChallenge(
      deps,
      {
        userId: request.userId,
        memberGuid: request.memberGuid,
        answers: [{ guid: "CRD-not-asked", value: "x" }],
      },
      CHALLENGE,
    ).catch((failure: unknown) => failure);

    // Assess
    expect(error).toBeInstanceOf(UnprocessableError);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBe("token-3");
    expect(taskSuccesses()).toEqual([]);
  });

  it("answers 409 no_challenge when nothing waits", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password");

    // Act
    const error = await answerChallenge(
      { mx: world.mx, members: stores.members, sfn },
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid: "CRD-x", value: "x" }] },
      CHALLENGE,
    ).catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ status: 409, code: "no_challenge" });
  });

  it("resumes its own run at once when MX has no challenge any more, so the run never waits in vain", async () => {
    // Prepare: the member connected; MX answers 204 to the challenges call.
    const { request } = await world.connect(stores, "good-password");
    await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await pollUntilSettled(request, "run-1");

    // Act
    const result = await awaitChallenge(
      { mx: world.mx, members: stores.members, sfn },
      { request, syncRun: "run-1", taskToken: "token-4", round: 2 },
      CHALLENGE,
    );

    // Assess
    expect(result).toEqual({ waiting: false, challenges: 0 });
    expect(taskSuccesses()).toEqual([
      { taskToken: "token-4", output: { phaseStartedAt: expect.any(Number) } },
    ]);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBeUndefined();
  });
});

describe("identifyMember", () => {
  it("starts an identify job at MX and a new polling phase that ends CONNECTED", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password", { identify: true });
    await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await pollUntilSettled(request, "run-1");

    // Act
    const result = await identifyMember(
      { mx: world.mx, members: stores.members },
      { request, syncRun: "run-1" },
    );
    const after = await pollUntilSettled(request, "run-1");

    // Assess
    expect(result.phaseStartedAt).toEqual(expect.any(Number));
    expect(after.phase).toBe("CONNECTED");
  });

  it("lets an MX 404 surface as the typed error the workflow catches", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password");
    await beginSync({ mx: world.mx, members: stores.members }, { request, syncRun: "run-1" }, BEGIN);
    await world.mx.deleteMember(request.mxUserGuid, request.memberGuid);

    // Act
    const error = await identifyMember(
      { mx: world.mx, members: stores.members },
      { request, syncRun: "run-1" },
    ).catch((failure: unknown) => failure);

    // Assess
    expect(error).toBeInstanceOf(MxNotFoundError);
  });
});

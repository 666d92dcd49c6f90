// The whole sync run, end to end: the state machine `cdk synth` produces, run by the local workflow runner
// with every Task bound to its real handler module; MX is the sandbox, DynamoDB is dynalite, and the SDK
// reaches the local Step Functions / Secrets Manager endpoint through AWS_ENDPOINT_URL_* (as deployed code
// reaches AWS). Waits are scaled down; nothing here depends on wall-clock timing.
import { SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type LocalAws, startLocalAws } from "../local/aws/index";
import { LOCAL_AWS } from "../local/dynamo";
import { createLambdaContext } from "../local/lambda-context";
import { CORRECT_ANSWER } from "../local/sandbox/index";
import { type LocalWorkflow, loadLocalWorkflow } from "../local/workflow/index";
import { answerChallenge } from "../shared/sync/answer-challenge";
import type { SyncRequest } from "../shared/sync/contract";
import { createSfnPort } from "../shared/sync/sfn";
import { type SyncWorld, sleep, startSyncWorld, type TestStores } from "./sync-fixture";

const SECRET_NAME = "mx-connect/mx-credentials";

let world: SyncWorld;
let stores: TestStores;
let aws: LocalAws;
let workflow: LocalWorkflow;
let mfaMemberGuid = "";

beforeAll(async () => {
  world = await startSyncWorld({ accountsPerMember: 2, transactionsPerAccount: 700 });
  stores = await world.freshStores();
  workflow = await loadLocalWorkflow({ waitScale: 0.002 });
  aws = await startLocalAws({
    stepFunctions: workflow.stepFunctions,
    secrets: {
      [SECRET_NAME]: JSON.stringify({ client_id: world.sandbox.clientId, api_key: world.sandbox.apiKey }),
    },
  });
  const env: Record<string, string> = {
    ...aws.env,
    TABLE_NAME: stores.tableName,
    MX_BASE_URL: world.sandbox.url,
    MX_SECRET_ID: SECRET_NAME,
    STATE_MACHINE_ARN: workflow.arns.sync ?? "",
    AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.secretAccessKey,
    LOG_LEVEL: "ERROR",
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  for (const name of Object.keys(workflow.requiredEnvironment)) {
    if (!process.env[name]) vi.stubEnv(name, workflow.requiredEnvironment[name] ?? "1");
  }
  workflow.checkEnvironment();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.close();
  await world?.close();
});

const lambdaContext = (functionName: string) => createLambdaContext({ functionName, timeoutMs: 300_000 });

async function run(request: SyncRequest, name: string) {
  const { executionArn } = workflow.stepFunctions.startExecution({
    stateMachineArn: workflow.arns.sync,
    name,
    input: JSON.stringify(request),
  });
  return executionArn;
}

describe("sync workflow, end to end", () => {
  it("connects, fans out and records SYNCED with counts that match what is stored", async () => {
    // Prepare
    const { request } = await world.connect(stores, "good-password", { identify: true });

    // Act
    const result = await workflow.stepFunctions.waitForExecution(await run(request, "e2e-synced"));

    // Assess
    expect(result.status).toBe("SUCCEEDED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({
      status: "SYNCED",
      outcome: "SYNCED",
      counts: { accounts: 2, transactions: 1400 },
      lastSyncedAt: expect.any(String),
    });
    expect(member?.sync.syncRun).toBeUndefined();
    expect(member?.sync.counts?.owners).toBeGreaterThan(0);
    const accounts = await stores.bankData.listAccounts(request.userId);
    const stored = await Promise.all(
      accounts.map((account) => stores.bankData.countTransactions(account.guid)),
    );
    expect(stored.reduce((sum, count) => sum + count, 0)).toBe(1400);
  });

  it("waits for the MFA answer, resumes on it, and ends SYNCED", async () => {
    // Prepare
    const { request } = await world.connect(stores, "challenge");
    mfaMemberGuid = request.memberGuid;
    const executionArn = await run(request, "e2e-mfa");
    const sfn = createSfnPort(new SFNClient({}));
    let member = await stores.members.getMember(request.userId, request.memberGuid);
    for (let attempt = 0; attempt < 500 && !member?.challengeTaskToken; attempt++) {
      await sleep(10);
      member = await stores.members.getMember(request.userId, request.memberGuid);
    }
    const guid = member?.challenges?.[0]?.guid ?? "";

    // Act
    const answered = await answerChallenge(
      { mx: world.mx, members: stores.members, sfn },
      { userId: request.userId, memberGuid: request.memberGuid, answers: [{ guid, value: CORRECT_ANSWER }] },
      { challengeTimeoutSeconds: 600 },
    );
    const result = await workflow.stepFunctions.waitForExecution(executionArn);

    // Assess
    expect(member?.sync.status).toBe("CHALLENGED");
    expect(answered).toEqual({ resumed: true });
    expect(result.status).toBe("SUCCEEDED");
    const after = await stores.members.getMember(request.userId, request.memberGuid);
    expect(after?.sync).toMatchObject({ status: "SYNCED", counts: { accounts: 2, transactions: 1400 } });
  });

  it("an overlapping schedule still starts one refresh run per synced member; each aggregates and ends SYNCED again", async () => {
    // Prepare: the members synced by the tests above are refreshable.
    const { handler } = await import("../functions/refresh-members");
    const synced = (await stores.members.listMembersToRefresh(100)).members;
    const context = lambdaContext("refresh-members");

    // Act
    const first = await handler({}, context);
    const again = await handler({}, context);
    const runs = workflow.stepFunctions
      .listExecutions({ stateMachineArn: workflow.arns.sync })
      .executions.filter((execution) => execution.name.includes("-refresh-"));
    const results = await Promise.all(
      runs.map((execution) => workflow.stepFunctions.waitForExecution(execution.executionArn)),
    );

    // Assess
    expect(synced.length).toBeGreaterThanOrEqual(2);
    expect(first).toEqual({ started: synced.length });
    // The overlapping schedule's starts reuse the same names: no second run of any member.
    expect(again.cursor).toBeUndefined();
    expect(runs).toHaveLength(synced.length);
    expect(results.map((result) => result.status)).toEqual(synced.map(() => "SUCCEEDED"));
    for (const { userId, memberGuid } of synced) {
      const member = await stores.members.getMember(userId, memberGuid);
      // The MFA member is asked again on refresh; nobody answers a scheduled run, so its wait times out.
      const expected =
        memberGuid === mfaMemberGuid
          ? { status: "TIMED_OUT", reason: "The security question was not answered in time." }
          : { status: "SYNCED", outcome: "SYNCED" };
      expect(member?.sync).toMatchObject(expected);
    }
  });

  it.each([
    ["LOCKED", "NEEDS_USER", "The bank has locked this account. The user must unlock it at the bank."],
    ["SERVER_ERROR", "FAILED", "The connection failed at the bank. Try again later."],
  ])("ends a %s member as %s with its reason", async (password, outcome, reason) => {
    // Prepare
    const { request } = await world.connect(stores, password);

    // Act
    const result = await workflow.stepFunctions.waitForExecution(await run(request, `e2e-${password}`));

    // Assess
    expect(result.status).toBe("SUCCEEDED");
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ status: outcome, outcome, reason });
  });
});

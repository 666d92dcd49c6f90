// The sync Lambdas as Lambda sees them: handler modules imported with their environment, invoked with an
// event and a context. DynamoDB is dynalite and MX is the sandbox (both over loopback HTTP, reached the way
// the deployed code reaches AWS: the SDK's standard AWS_ENDPOINT_URL_* variables); Secrets Manager is
// mocked with aws-sdk-client-mock.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LOCAL_AWS } from "../local/dynamo";
import { createLambdaContext } from "../local/lambda-context";
import { ConfigError, loadConfig, refreshConfigSchema, syncConfigSchema } from "../shared/config";
import { MxSecretInvalidError, mxClientFor } from "../shared/lambda/mx";
import type { SyncRequest } from "../shared/sync/contract";
import { type Connected, type SyncWorld, startSyncWorld, type TestStores } from "./sync-fixture";

const SECRET_ID = "mx-connect/mx-credentials";
const secretsMock = mockClient(SecretsManagerClient);

let world: SyncWorld;
let stores: TestStores;
let connected: Connected;
let handlers: {
  poll: typeof import("../functions/sync-poll").handler;
  begin: typeof import("../functions/sync-begin").handler;
  challenge: typeof import("../functions/sync-challenge").handler;
};

const lambdaContext = (functionName: string) => createLambdaContext({ functionName, timeoutMs: 300_000 });

/** Everything the handlers log while `act` runs: Powertools writes INFO to stdout, WARN/ERROR to stderr. */
async function captureLogs<T>(act: () => Promise<T>): Promise<{ result: T | unknown; output: string }> {
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(record),
    vi.spyOn(process.stderr, "write").mockImplementation(record),
  ];
  try {
    const result = await act().catch((error: unknown) => error);
    return { result, output: chunks.join("") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

beforeAll(async () => {
  world = await startSyncWorld();
  stores = await world.freshStores();
  connected = await world.connect(stores, "challenge");
  secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({
    SecretString: JSON.stringify({ client_id: world.sandbox.clientId, api_key: world.sandbox.apiKey }),
  });
  const env = {
    TABLE_NAME: stores.tableName,
    MX_BASE_URL: world.sandbox.url,
    MX_SECRET_ID: SECRET_ID,
    POWERTOOLS_SERVICE_NAME: "mx-connect-test",
    LOG_LEVEL: "INFO",
    AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.secretAccessKey,
    // Never reach a real SFN: the challenge handler only needs it when MX has no challenge.
    AWS_ENDPOINT_URL_SFN: "http://127.0.0.1:9",
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  handlers = {
    poll: (await import("../functions/sync-poll")).handler,
    begin: (await import("../functions/sync-begin")).handler,
    challenge: (await import("../functions/sync-challenge")).handler,
  };
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await world?.close();
});
afterEach(() => {
  world.sandbox.setKnobs({ faults: { rate5xx: 0 } });
});

const task = (request: SyncRequest, extra: Record<string, unknown> = {}) => ({
  request,
  syncRun: "run-1",
  ...extra,
});

/** Runs the Poll handler until the member leaves AGGREGATING. */
async function challenged(request: SyncRequest) {
  let poll = await handlers.poll(task(request, { phaseStartedAt: Date.now() }), lambdaContext("poll"));
  for (let attempt = 0; attempt < 200 && poll.phase === "AGGREGATING"; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    poll = await handlers.poll(task(request, { phaseStartedAt: Date.now() }), lambdaContext("poll"));
  }
  return poll;
}

describe("configuration", () => {
  it("fails fast naming every missing or invalid variable, never a value", () => {
    // Act
    const error = (() => {
      try {
        return loadConfig(syncConfigSchema, { MX_BASE_URL: "not a url", POLL_PHASE_LIMIT_SECONDS: "soon" });
      } catch (failure) {
        return failure;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of [
      "TABLE_NAME is required",
      "MX_SECRET_ID is required",
      "MX_BASE_URL is invalid",
      "POLL_PHASE_LIMIT_SECONDS is invalid",
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain("not a url");
  });

  it("parses each role's subset with defaults", () => {
    // Act
    const sync = loadConfig(syncConfigSchema, {
      TABLE_NAME: "table-1",
      MX_BASE_URL: "http://127.0.0.1:1",
      MX_SECRET_ID: "s",
    });
    const refresh = loadConfig(refreshConfigSchema, {
      TABLE_NAME: "table-1",
      STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:sync",
    });

    // Assess
    expect(sync).toMatchObject({
      POLL_PHASE_LIMIT_SECONDS: 900,
      INITIAL_HISTORY_DAYS: 730,
      REFRESH_WINDOW_DAYS: 14,
      LOG_LEVEL: "INFO",
    });
    expect(refresh).toMatchObject({ REFRESH_PAGE_SIZE: 100 });
  });

  it("stops a handler's cold start when its variables are missing", async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "");

    // Act
    const error = await import("../functions/sync-finish").catch((failure: unknown) => failure);

    // Assess
    vi.stubEnv("TABLE_NAME", stores.tableName);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("TABLE_NAME is required");
  });
});

describe("sync handlers", () => {
  it("rejects a malformed event with an error naming the bad fields", async () => {
    // Act
    const { result: error } = await captureLogs(() =>
      handlers.poll(
        { request: { ...connected.request, memberGuid: "not-a-guid" }, syncRun: "run-1" },
        lambdaContext("poll"),
      ),
    );

    // Assess
    expect(error).toMatchObject({ name: "InvalidEventError" });
    expect((error as Error).message).toContain("request.memberGuid");
    expect((error as Error).message).toContain("phaseStartedAt");
  });

  it("runs Begin and Poll end to end: secret from Secrets Manager, MX over HTTP, state in DynamoDB", async () => {
    // Act
    const begun = await handlers.begin(task(connected.request), lambdaContext("begin"));
    const poll = await challenged(connected.request);

    // Assess
    expect(begun).toMatchObject({ acquired: true });
    expect(poll).toMatchObject({ phase: "CHALLENGED", connectionStatus: "CHALLENGED" });
    const member = await stores.members.getMember(connected.request.userId, connected.request.memberGuid);
    expect(member?.connectionStatus).toBe("CHALLENGED");
  });

  it("names a transient MX failure so the state machine retries it", async () => {
    // Prepare
    world.sandbox.setKnobs({ faults: { rate5xx: 1 } });

    // Act
    const error = await handlers
      .poll(task(connected.request, { phaseStartedAt: Date.now() }), lambdaContext("poll"))
      .catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ name: "MxUnavailableError" });
  });

  it("logs JSON lines with the member and run as correlation keys, and never the secret or the task token", async () => {
    // Prepare
    const { request } = await world.connect(stores, "challenge");
    const taskToken = "AAAAKgAAAAIAAAAAAAAAAV3ry-super-secret-task-token-0123456789";
    await handlers.begin(task(request), lambdaContext("begin"));
    await challenged(request);

    // Act
    const { result, output } = await captureLogs(async () => {
      await handlers.poll(task(request, { phaseStartedAt: Date.now() }), lambdaContext("poll"));
      await handlers.challenge(task(request, { taskToken, round: 1 }), lambdaContext("challenge"));
      world.sandbox.setKnobs({ faults: { rate5xx: 1 } });
      return handlers.poll(task(request, { phaseStartedAt: Date.now() }), lambdaContext("poll"));
    });

    // Assess
    expect(result).toMatchObject({ name: "MxUnavailableError" });
    const lines = output
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).toMatchObject({
        service: "mx-connect-test",
        memberGuid: request.memberGuid,
        syncRun: "run-1",
      });
    }
    expect(lines.some((line) => line.message === "Polled" && line.phase === "CHALLENGED")).toBe(true);
    expect(lines.some((line) => line.level === "WARN" && line.message === "Task failed")).toBe(true);
    for (const secret of [world.sandbox.apiKey, taskToken, "Basic "]) expect(output).not.toContain(secret);
    expect(lines.some((line) => line.message === "Challenge" && line.waiting === true)).toBe(true);
    const member = await stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.challengeTaskToken).toBe(taskToken);
  });
});

describe("MX client from the secret", () => {
  it("is built once per secret value and rebuilt after a rotation", () => {
    // Act
    const first = mxClientFor("http://127.0.0.1:1", { client_id: "id", api_key: "key-1" });
    const same = mxClientFor("http://127.0.0.1:1", { client_id: "id", api_key: "key-1" });
    const rotated = mxClientFor("http://127.0.0.1:1", { client_id: "id", api_key: "key-2" });

    // Assess
    expect(same).toBe(first);
    expect(rotated).not.toBe(first);
  });

  it("rejects a malformed secret without echoing it", () => {
    // Act
    const error = (() => {
      try {
        return mxClientFor(
          "http://127.0.0.1:1",
          { client_id: "id-7", apikey: "hunter2" },
          `Secret ${SECRET_ID}`,
        );
      } catch (failure) {
        return failure;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(MxSecretInvalidError);
    expect((error as Error).message).toContain(SECRET_ID);
    expect((error as Error).message).not.toContain("hunter2");
  });
});

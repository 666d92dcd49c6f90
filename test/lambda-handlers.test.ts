// The sync Lambdas as Lambda sees them: handler modules imported with their environment, invoked with an
// event and a context, on the embedded stack (local/stack.ts). DynamoDB is dynalite, MX is the sandbox and
// Secrets Manager is the stack's local endpoint holding the MX credentials, all over loopback HTTP and
// reached the way the deployed code reaches AWS: the SDK's standard AWS_ENDPOINT_URL_* variables.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createLambdaContext } from "../local/lambda-context";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import { ConfigError, loadConfig, syncConfigSchema, webhookConfigSchema } from "../shared/config";
import { MxSecretInvalidError, mxClientFor } from "../shared/lambda/mx";
import type { SyncRequest } from "../shared/sync/contract";

/** The name the stack stores the MX credentials under (MX_SECRET_ID is its ARN). */
const SECRET_ID = "mx-connect/mx-credentials";

let stack: LocalStack;
let connected: Awaited<ReturnType<typeof connect>>;
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

/** An MX user + mxbank member whose password picks the outcome, stored in the stack's table. */
const connect = (password: string) =>
  connectMxbankMember({ mx: stack.mx, members: stack.stores.members }, password);

/** The sandbox (the stack runs on it under a test runner). */
const sandbox = () => {
  if (!stack.sandbox) throw new Error("the embedded stack runs on the MX sandbox under vitest");
  return stack.sandbox;
};

beforeAll(async () => {
  // The stack sets the handlers' environment (table, MX URL, secret ARN, endpoints) before they load.
  stack = await startLocalStack({
    sandbox: { aggregationMs: 40 },
    env: { POWERTOOLS_SERVICE_NAME: "mx-connect-test", LOG_LEVEL: "INFO" },
  });
  connected = await connect("challenge");
  handlers = {
    poll: (await import("../functions/sync-poll")).handler,
    begin: (await import("../functions/sync-begin")).handler,
    challenge: (await import("../functions/sync-challenge")).handler,
  };
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await stack?.close();
});
afterEach(() => {
  sandbox().setKnobs({ faults: { rate5xx: 0 } });
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
    const webhook = loadConfig(webhookConfigSchema, {
      WEBHOOK_SECRET_ID: "s",
      REFRESH_QUEUE_URL: "http://127.0.0.1:1/000000000000/refresh",
    });

    // Assess
    expect(sync).toMatchObject({
      POLL_PHASE_LIMIT_SECONDS: 900,
      INITIAL_HISTORY_DAYS: 730,
      REFRESH_WINDOW_DAYS: 14,
      LOG_LEVEL: "INFO",
    });
    expect(webhook).toMatchObject({ LOG_LEVEL: "INFO", WEBHOOK_SECRET_ID: "s" });
  });

  it("stops a handler's cold start when its variables are missing", async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "");

    // Act
    const error = await import("../functions/sync-finish").catch((failure: unknown) => failure);

    // Assess
    vi.stubEnv("TABLE_NAME", stack.env.TABLE_NAME);
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
    const member = await stack.stores.members.getMember(
      connected.request.userId,
      connected.request.memberGuid,
    );
    expect(member?.connectionStatus).toBe("CHALLENGED");
    // The handlers read the MX credentials from the local Secrets Manager (cached after the first read).
    expect(stack.aws.secretReads()).toBeGreaterThanOrEqual(1);
  });

  it("names a transient MX failure so the state machine retries it", async () => {
    // Prepare
    sandbox().setKnobs({ faults: { rate5xx: 1 } });

    // Act
    const error = await handlers
      .poll(task(connected.request, { phaseStartedAt: Date.now() }), lambdaContext("poll"))
      .catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ name: "MxUnavailableError" });
  });

  it("logs JSON lines with the member and run as correlation keys, and never the secret or the task token", async () => {
    // Prepare
    const { request } = await connect("challenge");
    const taskToken = "AAAAKgAAAAIAAAAAAAAAAV3ry-super-secret-task-token-0123456789";
    await handlers.begin(task(request), lambdaContext("begin"));
    await challenged(request);

    // Act
    const { result, output } = await captureLogs(async () => {
      await handlers.poll(task(request, { phaseStartedAt: Date.now() }), lambdaContext("poll"));
      await handlers.challenge(task(request, { taskToken, round: 1 }), lambdaContext("challenge"));
      sandbox().setKnobs({ faults: { rate5xx: 1 } });
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
    for (const secret of [sandbox().apiKey, taskToken, "Basic "]) expect(output).not.toContain(secret);
    expect(lines.some((line) => line.message === "Challenge" && line.waiting === true)).toBe(true);
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
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

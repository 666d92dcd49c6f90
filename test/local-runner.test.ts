// The local workflow runner's mechanics, on small hand-written definitions and in-test handlers:
// fail-closed binding, Lambda error naming, the invoke envelope, task tokens through the real SFN
// client against the local AWS endpoint, and Step Functions' execution rules.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../local/aws";
import { startDynamo } from "../local/dynamo";
import type { JsonObject } from "../local/workflow/asl";
import { LocalStepFunctions } from "../local/workflow/executions";
import type { LambdaHandler, LambdaTarget } from "../local/workflow/lambda";

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const fn = (name: string, handler: LambdaHandler): LambdaTarget => ({
  arn: fnArn(name),
  functionName: name,
  timeoutSeconds: 10,
  load: async () => handler,
});
const task = (resource: string, rest: JsonObject = {}): JsonObject => ({
  Type: "Task",
  Resource: resource,
  ...(rest.Next ? {} : { End: true }),
  ...rest,
});
const machine = (states: JsonObject, startAt = Object.keys(states)[0] ?? ""): JsonObject => ({
  StartAt: startAt,
  States: states,
});

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

let aws: LocalAws;
let sfn: LocalStepFunctions;
let client: SFNClient;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const clientConfig = () => ({
  endpoint: aws.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

beforeAll(async () => {
  sfn = new LocalStepFunctions({ waitScale: 0.001 });
  aws = await startLocalAws({
    stepFunctions: sfn,
    secrets: { "mx-credentials": '{"client_id":"c","api_key":"k"}' },
  });
  client = new SFNClient(clientConfig());
});
afterAll(async () => {
  client.destroy();
  await sfn.close();
  await aws.close();
});

/** The task token the execution waits on (once its task has issued one). */
async function nextToken(backend: LocalStepFunctions, executionArn: string): Promise<string> {
  for (;;) {
    const pending = backend.pendingTaskTokens(executionArn)[0];
    if (pending) return pending.taskToken;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function run(name: string, definition: JsonObject, functions: LambdaTarget[], input: unknown = {}) {
  const arn = sfn.addStateMachine({ name, definition, functions });
  const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) });
  return sfn.waitForExecution(executionArn);
}

describe("binding tasks", () => {
  it("refuses at load time a Task whose function it cannot map", () => {
    // Prepare
    const definition = machine({ Call: task(fnArn("Unknown")) });
    // Act / Assess
    expect(() => sfn.addStateMachine({ name: "unmapped", definition, functions: [] })).toThrow(
      /no local handler/,
    );
  });

  it("refuses at load time a service integration it does not emulate", () => {
    const definition = machine({
      Put: task("arn:aws:states:::dynamodb:putItem", { Parameters: { TableName: "t" } }),
    });
    expect(() => sfn.addStateMachine({ name: "dynamo-task", definition, functions: [] })).toThrow(
      /no local handler/,
    );
  });

  it("refuses JSONata, which the library would silently ignore", () => {
    const definition = { QueryLanguage: "JSONata", ...machine({ Done: { Type: "Succeed" } }) };
    expect(() => sfn.addStateMachine({ name: "jsonata", definition, functions: [] })).toThrow(/JSONata/);
  });
});

describe("Lambda semantics", () => {
  it("returns the function's result directly for a function ARN resource", async () => {
    const echo = fn("Echo", async (event) => ({ got: event }));
    const result = await run("direct", machine({ Call: task(fnArn("Echo")) }), [echo], { a: 1 });
    expect(result).toEqual({ status: "SUCCEEDED", output: { got: { a: 1 } } });
  });

  it("wraps the result in Lambda's envelope for arn:aws:states:::lambda:invoke", async () => {
    // Prepare
    const echo = fn("EnvelopeEcho", async (event) => ({ got: event }));
    const definition = machine({
      Call: task("arn:aws:states:::lambda:invoke", {
        Parameters: { FunctionName: fnArn("EnvelopeEcho"), "Payload.$": "$" },
      }),
    });
    // Act
    const result = await run("envelope", definition, [echo], { a: 1 });
    // Assess
    expect(result.status).toBe("SUCCEEDED");
    expect(result.output).toMatchObject({
      Payload: { got: { a: 1 } },
      StatusCode: 200,
      ExecutedVersion: "$LATEST",
    });
  });

  it("names the Step Functions error after the thrown error, so Retry matches it", async () => {
    // Prepare: rate limited twice, then fine
    let calls = 0;
    const flaky = fn("Flaky", async () => {
      calls += 1;
      if (calls < 3) throw new NamedError("MxRateLimitedError", "slow down");
      return { calls };
    });
    const definition = machine({
      Call: task(fnArn("Flaky"), {
        Retry: [
          { ErrorEquals: ["MxRateLimitedError"], IntervalSeconds: 2, MaxAttempts: 3, JitterStrategy: "FULL" },
        ],
      }),
    });
    // Act
    const result = await run("retry", definition, [flaky]);
    // Assess
    expect(result).toEqual({ status: "SUCCEEDED", output: { calls: 3 } });
  });

  it("reports a caught error with Cause = the JSON {errorType, errorMessage}", async () => {
    const failing = fn("Failing", async () => {
      throw new NamedError("MxNotFoundError", "no such member");
    });
    const definition = machine({
      Call: task(fnArn("Failing"), {
        Next: "Never",
        Retry: [{ ErrorEquals: ["MxRateLimitedError"], MaxAttempts: 3 }],
        Catch: [{ ErrorEquals: ["MxNotFoundError"], ResultPath: "$.error", Next: "Handled" }],
      }),
      Never: { Type: "Fail", Error: "Unexpected" },
      Handled: { Type: "Succeed" },
    });
    const result = await run("catch", definition, [failing], { keep: true });
    expect(result).toEqual({
      status: "SUCCEEDED",
      output: {
        keep: true,
        error: {
          Error: "MxNotFoundError",
          Cause: JSON.stringify({ errorType: "MxNotFoundError", errorMessage: "no such member" }),
        },
      },
    });
  });

  it("fails the execution with the error name when nothing catches it", async () => {
    const failing = fn("Plain", async () => {
      throw new TypeError("bad input");
    });
    const result = await run("uncaught", machine({ Call: task(fnArn("Plain")) }), [failing]);
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("TypeError");
    expect(JSON.parse(result.cause ?? "")).toEqual({ errorType: "TypeError", errorMessage: "bad input" });
  });

  it("fails with States.DataLimitExceeded when a result is too big for the state", async () => {
    const big = fn("Big", async () => ({ blob: "x".repeat(300 * 1024) }));
    const definition = machine({
      Call: task(fnArn("Big"), { Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }], Next: "Caught" }),
      Caught: { Type: "Succeed" },
    });
    const result = await run("too-big", definition, [big]);
    expect(result).toMatchObject({ status: "FAILED", error: "States.DataLimitExceeded" });
  });
});

describe("waits", () => {
  // waitScale 0.001: 100 s waits take 0.1 s
  it("scales Wait states, including SecondsPath", async () => {
    const definition = machine({
      Fixed: { Type: "Wait", Seconds: 100, Next: "Dynamic" },
      Dynamic: { Type: "Wait", SecondsPath: "$.wait.seconds", Next: "Done" },
      Done: { Type: "Pass", Result: "waited", ResultPath: "$.result", End: true },
    });
    const result = await run("waits", definition, [], { wait: { seconds: 100 } });
    expect(result).toEqual({ status: "SUCCEEDED", output: { wait: { seconds: 100 }, result: "waited" } });
  });
});

describe("waitForTaskToken through the local AWS endpoint", () => {
  const tokens: string[] = [];
  const saveToken = fn("SaveToken", async (event) => {
    tokens.push((event as { token: string }).token);
    return { ignored: true };
  });
  const definition = machine({
    Await: task("arn:aws:states:::lambda:invoke.waitForTaskToken", {
      Parameters: {
        FunctionName: fnArn("SaveToken"),
        Payload: { "token.$": "$$.Task.Token", "round.$": "$.round" },
      },
      TimeoutSeconds: 600,
      ResultPath: "$.answer",
      Catch: [{ ErrorEquals: ["States.Timeout"], ResultPath: "$.error", Next: "TimedOut" }],
      Next: "Answered",
    }),
    Answered: { Type: "Succeed" },
    TimedOut: { Type: "Pass", Result: "timed out", ResultPath: "$.outcome", End: true },
  });
  let stateMachineArn: string;

  beforeAll(() => {
    stateMachineArn = sfn.addStateMachine({ name: "challenge", definition, functions: [saveToken] });
  });

  it("resumes with the SendTaskSuccess output", async () => {
    // Prepare: a long task timeout, so only the answer can end the wait
    const slow = new LocalStepFunctions({ waitScale: 1 });
    const arn = slow.addStateMachine({ name: "challenge", definition, functions: [saveToken] });
    aws.attachStepFunctions(slow);
    try {
      const started = await client.send(
        new StartExecutionCommand({
          stateMachineArn: arn,
          name: "run-1",
          input: JSON.stringify({ round: 1 }),
        }),
      );
      const executionArn = started.executionArn ?? "";
      const pending = await nextToken(slow, executionArn);
      // Act
      await client.send(
        new SendTaskSuccessCommand({ taskToken: pending, output: JSON.stringify({ phaseStartedAt: 42 }) }),
      );
      // Assess
      expect(await slow.waitForExecution(executionArn)).toEqual({
        status: "SUCCEEDED",
        output: { round: 1, answer: { phaseStartedAt: 42 } },
      });
      expect(tokens).toContain(pending);
      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe("SUCCEEDED");
      await expect(
        client.send(new SendTaskSuccessCommand({ taskToken: pending, output: "{}" })),
      ).rejects.toMatchObject({ name: "TaskDoesNotExist" });
      await expect(
        client.send(new SendTaskFailureCommand({ taskToken: "not-a-token", error: "X" })),
      ).rejects.toMatchObject({ name: "InvalidToken" });
    } finally {
      aws.attachStepFunctions(sfn);
      await slow.close();
    }
  });

  it("fails the task on SendTaskFailure with the given error", async () => {
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ round: 2 }) }),
    );
    const executionArn = started.executionArn ?? "";
    const token = await nextToken(sfn, executionArn);
    await client.send(
      new SendTaskFailureCommand({ taskToken: token, error: "UserCancelled", cause: "gave up" }),
    );
    expect(await sfn.waitForExecution(executionArn)).toEqual({
      status: "FAILED",
      error: "UserCancelled",
      cause: "gave up",
    });
  });

  it("ends with States.Timeout after the (scaled) TimeoutSeconds, and the token dies", async () => {
    // Prepare: waitScale 0.001 turns 600 s into 0.6 s; nobody answers
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ round: 3 }) }),
    );
    const executionArn = started.executionArn ?? "";
    const token = await nextToken(sfn, executionArn);
    // Act
    const result = await sfn.waitForExecution(executionArn);
    // Assess
    expect(result.status).toBe("SUCCEEDED");
    expect(result.output).toMatchObject({
      round: 3,
      outcome: "timed out",
      error: { Error: "States.Timeout" },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })),
    ).rejects.toMatchObject({
      name: "TaskTimedOut",
    });
  });
});

describe("execution rules", () => {
  let stateMachineArn: string;
  beforeAll(() => {
    const hold = fn("Hold", () => new Promise(() => {})); // never returns: the execution stays RUNNING
    stateMachineArn = sfn.addStateMachine({
      name: "rules",
      definition: machine({ Hold: task(fnArn("Hold")) }),
      functions: [hold],
    });
  });

  it("treats a repeated start with the same name and input as the same execution", async () => {
    const input = JSON.stringify({ a: 1 });
    const first = await client.send(new StartExecutionCommand({ stateMachineArn, name: "same", input }));
    const again = await client.send(new StartExecutionCommand({ stateMachineArn, name: "same", input }));
    expect(again.executionArn).toBe(first.executionArn);
    await expect(
      client.send(
        new StartExecutionCommand({ stateMachineArn, name: "same", input: JSON.stringify({ a: 2 }) }),
      ),
    ).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });
  });

  it("rejects invalid names and inputs as AWS does", async () => {
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: "a b" })),
    ).rejects.toMatchObject({
      name: "InvalidName",
    });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, input: "{nope" })),
    ).rejects.toMatchObject({
      name: "InvalidExecutionInput",
    });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-missing` })),
    ).rejects.toMatchObject({ name: "StateMachineDoesNotExist" });
  });

  it("stops an execution and refuses to restart its name", async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: "stop-me" }),
    );
    await client.send(new StopExecutionCommand({ executionArn, error: "Cancelled", cause: "by test" }));
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: "ABORTED", error: "Cancelled", cause: "by test" });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: "stop-me" })),
    ).rejects.toMatchObject({
      name: "ExecutionAlreadyExists",
    });
  });
});

describe("Secrets Manager", () => {
  it("serves GetSecretValue by name and by ARN, and ResourceNotFound otherwise", async () => {
    const secrets = new SecretsManagerClient(clientConfig());
    try {
      const byName = await secrets.send(new GetSecretValueCommand({ SecretId: "mx-credentials" }));
      expect(byName.SecretString).toBe('{"client_id":"c","api_key":"k"}');
      const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
      expect(byArn.Name).toBe("mx-credentials");
      await expect(secrets.send(new GetSecretValueCommand({ SecretId: "nope" }))).rejects.toMatchObject({
        name: "ResourceNotFoundException",
      });
    } finally {
      secrets.destroy();
    }
  });
});

describe("injected faults and AWS limits", () => {
  it("crashes a chosen invocation at its first DynamoDB write as Lambda.Unknown; the write never lands", async () => {
    // Prepare: a function that reads, then adds 1 to a counter; its first invocation crashes at the write.
    // It reaches DynamoDB through the fault proxy (no throttling here), which drops a crashed one's requests.
    const noThrottling = {
      seed: 1,
      throttleRate: 0,
      unprocessedRate: 0,
      sustainedRate: 0,
      sustainedCalls: 0,
    };
    const dynamo = await startDynamo({ tableName: "crash-test", faults: noThrottling });
    const viaProxy = new DynamoDBClient({ endpoint: dynamo.endpoint, region: "us-east-1", credentials });
    const doc = DynamoDBDocumentClient.from(viaProxy);
    const key = { pk: "counter", sk: "counter" };
    let invocations = 0;
    const counter = fn("Counter", async () => {
      invocations += 1;
      await doc.send(new GetCommand({ TableName: "crash-test", Key: key }));
      await doc.send(
        new UpdateCommand({
          TableName: "crash-test",
          Key: key,
          UpdateExpression: "ADD n :one",
          ExpressionAttributeValues: { ":one": 1 },
        }),
      );
      return { invocations };
    });
    const crashes: string[] = [];
    let decided = 0;
    const backend = new LocalStepFunctions({
      waitScale: 0.001,
      lambdaFaults: {
        crashAtFirstWrite: () => ++decided === 1,
        onCrash: (target) => crashes.push(target.functionName),
      },
    });
    const definition = machine({
      Call: task(fnArn("Counter"), {
        Retry: [{ ErrorEquals: ["Lambda.Unknown"], IntervalSeconds: 1, MaxAttempts: 2 }],
      }),
    });
    try {
      // Act
      const arn = backend.addStateMachine({ name: "crash", definition, functions: [counter] });
      const { executionArn } = backend.startExecution({ stateMachineArn: arn, input: "{}" });
      const result = await backend.waitForExecution(executionArn);
      await new Promise((resolve) => setTimeout(resolve, 300)); // anything the crashed one still sends

      // Assess
      expect(result).toEqual({ status: "SUCCEEDED", output: { invocations: 2 } });
      expect(crashes).toEqual(["Counter"]);
      const failed = backend.history(executionArn).find((event) => event.type === "StateFailed");
      expect(failed).toMatchObject({ Error: "Lambda.Unknown" });
      expect(JSON.stringify(failed)).toContain("Runtime.ExitError");
      const item = await doc.send(new GetCommand({ TableName: "crash-test", Key: key }));
      expect(item.Item?.n).toBe(1);
    } finally {
      await backend.close();
      viaProxy.destroy();
      await dynamo.close();
    }
  });

  it("fails the execution with States.Runtime when States.ArrayRange would return more than 1,000 items, as AWS does", async () => {
    // Prepare
    const definition = machine({
      List: {
        Type: "Pass",
        Parameters: { "pages.$": "States.ArrayRange(1, $.n, 1)" },
        End: true,
      },
    });

    // Act
    const within = await run("range-1000", definition, [], { n: 1000 });
    const beyond = await run("range-1001", definition, [], { n: 1001 });

    // Assess
    expect(within.status).toBe("SUCCEEDED");
    expect(beyond).toMatchObject({ status: "FAILED", error: "States.Runtime" });
  });
});

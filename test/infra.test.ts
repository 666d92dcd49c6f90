// The CDK stack's promises, read from the synthesized template (in-process, bundling skipped): data
// protection, Lambda defaults, least privilege per function, no secret in any environment, workflow
// logging and tracing, the schedule's narrow role, and cdk-nag's AwsSolutions and Serverless packs passing.
import { Template } from "aws-cdk-lib/assertions";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp, SKIP_BUNDLING } from "../infra/build";
import { nagPacks } from "../infra/nag";
import type { MxConnectStack } from "../infra/stack";
import { MEMBER_PURGE } from "../shared/members/settings";

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

let stack: MxConnectStack;
let template: Template;
let resources: Record<string, Resource>;
let app: ReturnType<typeof buildApp>["app"];

beforeAll(() => {
  ({ app, stack } = buildApp({ context: { ...SKIP_BUNDLING }, nag: false }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The workflow's functions (the API's are tested in api-infra.test.ts). */
const ourFunctions = () =>
  ofType("AWS::Lambda::Function").filter(([, r]) =>
    /^functions\/(sync-|refresh-|sweep|purge-)/.test(String(r.Metadata?.["mx-connect:entry"] ?? "")),
  );
const entryOf = (r: Resource) => String(r.Metadata?.["mx-connect:entry"]);

/** The policies attached to a function's role. */
function policiesOf(functionLogicalId: string): unknown[] {
  const fn = resources[functionLogicalId];
  if (!fn) throw new Error(`no function ${functionLogicalId}`);
  const roleRef = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  return ofType("AWS::IAM::Policy")
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef))
    .map(([, policy]) => policy.Properties.PolicyDocument);
}

/** The actions granted to a function's role, across its policies. */
function actionsOf(functionLogicalId: string): string[] {
  const fn = resources[functionLogicalId];
  if (!fn) throw new Error(`no function ${functionLogicalId}`);
  const roleRef = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  return ofType("AWS::IAM::Policy")
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

describe("data", () => {
  it("protects the table: PITR, KMS encryption, TTL, deletion protection, retained", () => {
    const [[, table] = []] = ofType("AWS::DynamoDB::GlobalTable");
    expect(table).toBeDefined();
    expect(table).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    expect(table?.Properties).toMatchObject({
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [
        expect.objectContaining({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });
});

describe("Lambda functions", () => {
  it("are the workflow's nine, the background refresh's two and the member purge, Node.js 22 on arm64, traced, JSON-logged to a log group with retention", () => {
    const functions = ourFunctions();
    expect(functions.map(([, r]) => entryOf(r)).sort()).toEqual([
      "functions/purge-member.ts",
      "functions/refresh-consumer.ts",
      "functions/sweep.ts",
      "functions/sync-accounts.ts",
      "functions/sync-begin.ts",
      "functions/sync-challenge.ts",
      "functions/sync-extend-history.ts",
      "functions/sync-finish.ts",
      "functions/sync-identify.ts",
      "functions/sync-owners.ts",
      "functions/sync-poll.ts",
      "functions/sync-transactions-page.ts",
    ]);
    for (const [id, fn] of functions) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogFormat: "JSON", LogGroup: { Ref: expect.any(String) } },
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: "--enable-source-maps" }) },
      });
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
      const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resources[logGroupId]?.Properties.RetentionInDays, id).toBeGreaterThan(0);
    }
  });

  it("carry secret references only: no secret value or MX key in any environment", () => {
    for (const [id, fn] of ourFunctions()) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const [name, value] of Object.entries(variables)) {
        expect(name, id).not.toMatch(/API_KEY|CLIENT_ID|PASSWORD|SECRET(?!_ID)|TOKEN/);
        // A secret appears only as a reference to its ARN, never as a resolved value.
        expect(JSON.stringify(value), id).not.toMatch(/resolve:secretsmanager|SecretString/);
      }
      if ("MX_SECRET_ID" in variables)
        expect(variables.MX_SECRET_ID, id).toEqual({ Ref: expect.stringMatching(/MxCredentials/) });
    }
  });

  it("hold only the actions each one needs", () => {
    const logs = ["logs:CreateLogStream", "logs:PutLogEvents"];
    const xray = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"];
    const tableRead = [
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
    ].concat(["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:Query", "dynamodb:Scan"]);
    const tableWrite = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ];
    const mxSecret = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"];
    const syncTask = [...logs, ...xray, ...tableRead, ...tableWrite, ...mxSecret];
    const sqsSend = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"];
    const sqsConsume = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ];
    const expected: Record<string, string[]> = {
      "functions/sync-begin.ts": syncTask,
      "functions/sync-poll.ts": syncTask,
      "functions/sync-challenge.ts": [...syncTask, "states:SendTaskFailure", "states:SendTaskSuccess"],
      "functions/sync-identify.ts": syncTask,
      "functions/sync-extend-history.ts": syncTask,
      "functions/sync-owners.ts": syncTask,
      "functions/sync-accounts.ts": syncTask,
      "functions/sync-transactions-page.ts": syncTask,
      "functions/sync-finish.ts": [...logs, ...xray, ...tableRead, ...tableWrite, "events:PutEvents"],
      // The background refresh: never Step Functions; the queue's send only where it enqueues.
      "functions/refresh-consumer.ts": [
        ...logs,
        ...xray,
        ...tableRead,
        ...tableWrite,
        ...mxSecret,
        ...sqsSend,
        ...sqsConsume,
        "events:PutEvents",
      ],
      // The member purge: the table, its own queue (consumes, continues itself), member.deleted; no MX.
      "functions/purge-member.ts": [
        ...logs,
        ...xray,
        ...tableRead,
        ...tableWrite,
        ...sqsSend,
        ...sqsConsume,
        "events:PutEvents",
      ],
      // …and SendMessage on its own dead-letter queue (the schedule invokes it asynchronously).
      "functions/sweep.ts": [
        ...logs,
        ...xray,
        ...tableRead,
        "dynamodb:UpdateItem",
        ...sqsSend,
        "sqs:SendMessage",
      ],
    };
    for (const [id, fn] of ourFunctions()) {
      expect(actionsOf(id), entryOf(fn)).toEqual(
        [...(expected[entryOf(fn)] ?? ["(unexpected function)"])].sort(),
      );
    }
  });

  it("have no managed policies (no AWSLambdaBasicExecutionRole): each role writes its own log group only", () => {
    for (const [id, fn] of ourFunctions()) {
      const roleId = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
      expect(resources[roleId]?.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });
});

describe("state machines", () => {
  it("log without execution data and trace with X-Ray", () => {
    const machines = ofType("AWS::StepFunctions::StateMachine");
    expect(machines).toHaveLength(1);
    for (const [id, machine] of machines) {
      expect(machine.Properties, id).toMatchObject({
        StateMachineType: "STANDARD",
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { IncludeExecutionData: false, Level: "ALL" },
      });
    }
  });
});

describe("the background refresh", () => {
  it("sweeps every 6 hours by invoking the sweep Lambda, with a role that can do nothing else", () => {
    // Prepare
    const sweep = stack.getLogicalId(stack.refresh.sweep.node.defaultChild as never);

    // Act
    const [[, schedule] = []] = ofType("AWS::Scheduler::Schedule");
    const roleId = (
      ((schedule as Resource).Properties.Target as { RoleArn: unknown }).RoleArn as { "Fn::GetAtt": [string] }
    )["Fn::GetAtt"][0];
    const statements = ofType("AWS::IAM::Policy")
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

    // Assess
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: "rate(6 hours)",
      State: "ENABLED",
      Target: { Arn: { "Fn::GetAtt": [sweep, "Arn"] } },
    });
    expect(statements.flatMap((s) => s.Action)).toEqual(["lambda:InvokeFunction"]);
    expect(resources[roleId]?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("takes -c sweepEveryHours as the sweep's cadence", () => {
    // Prepare
    const { stack: every2 } = buildApp({ context: { ...SKIP_BUNDLING, sweepEveryHours: "2" }, nag: false });

    // Act
    const schedules = Template.fromStack(every2).findResources("AWS::Scheduler::Schedule");

    // Assess
    expect(Object.values(schedules).map((r) => r.Properties.ScheduleExpression)).toEqual(["rate(2 hours)"]);
  });

  it("feeds the consumer from a queue with a DLQ, partial batch failures and a concurrency cap", () => {
    // Prepare
    const consumer = stack.getLogicalId(stack.refresh.consumer.node.defaultChild as never);

    // Act
    const [[, mapping] = []] = ofType("AWS::Lambda::EventSourceMapping").filter(
      ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === consumer,
    );
    const queues = ofType("AWS::SQS::Queue").map(([, q]) => q.Properties);

    // Assess
    expect(mapping?.Properties).toMatchObject({
      FunctionName: { Ref: consumer },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    expect(queues).toContainEqual(
      expect.objectContaining({ RedrivePolicy: expect.objectContaining({ maxReceiveCount: 5 }) }),
    );
  });

  it("lets the webhook route read its secret and send to the queue, and nothing else", () => {
    // Prepare
    const webhook = stack.getLogicalId(stack.api.functions.MxWebhook?.node.defaultChild as never);

    // Act
    const actions = actionsOf(webhook);

    // Assess
    expect(actions).toEqual(
      [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
      ].sort(),
    );
  });
});

describe("the member purge", () => {
  it("is fed by its queue (DLQ, alarmed) one purge at a time, and only the DELETE route may send to it", () => {
    // Prepare
    const consumer = stack.getLogicalId(stack.purge.consumer.node.defaultChild as never);
    const queue = stack.getLogicalId(stack.purge.queue.node.defaultChild as never);
    const dlq = stack.getLogicalId(stack.purge.deadLetterQueue.node.defaultChild as never);

    // Act
    const [[, mapping] = []] = ofType("AWS::Lambda::EventSourceMapping").filter(
      ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === consumer,
    );
    const senders = ofType("AWS::Lambda::Function")
      .filter(([id]) => actionsOf(id).includes("sqs:SendMessage"))
      .filter(([id]) => JSON.stringify(policiesOf(id)).includes(queue))
      .map(([, fn]) => entryOf(fn))
      .sort();
    const dlqAlarms = ofType("AWS::CloudWatch::Alarm").filter(([, a]) =>
      JSON.stringify(a.Properties.Dimensions ?? []).includes(dlq),
    );

    // Assess
    expect(mapping?.Properties).toMatchObject({
      FunctionName: { Ref: consumer },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(resources[queue]?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(senders).toEqual(["functions/api-delete-member.ts", "functions/purge-member.ts"]);
    expect(dlqAlarms).toHaveLength(1);
  });

  it("starts later than any function writing a member's rows can still be running", () => {
    // The purge's first delivery waits MEMBER_PURGE.startDelaySeconds after the DELETE: every function with
    // write access to the table but the purge itself must time out sooner (a writer that passed its member
    // check just before the mark has then ended).
    const writers = ofType("AWS::Lambda::Function").filter(
      ([id, fn]) =>
        actionsOf(id).includes("dynamodb:BatchWriteItem") && entryOf(fn) !== "functions/purge-member.ts",
    );
    expect(writers.length).toBeGreaterThan(5);
    for (const [id, fn] of writers) {
      expect(Number(fn.Properties.Timeout), `${id} ${entryOf(fn)}`).toBeLessThan(
        MEMBER_PURGE.startDelaySeconds,
      );
    }
  });
});

describe("cdk-nag AwsSolutions and Serverless", () => {
  it("report no unacknowledged finding", () => {
    const findings = nagPacks(app).flatMap((pack) =>
      pack
        .validateScope(app)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(", ")}`,
        ),
    );
    expect(findings).toEqual([]);
  });

  it("fails synth on a finding nobody acknowledged", () => {
    const { app: checked, stack: withNag } = buildApp({ context: { ...SKIP_BUNDLING } });
    // A secret without rotation and without an acknowledgement: AwsSolutions-SMG4.
    new secretsmanager.Secret(withNag, "Unacknowledged");
    expect(() => checked.synth()).toThrow(/Validation failed|AwsSolutions/);
  });
});

describe("outputs", () => {
  it("tells the deployer the API URL, the user pool to sign in with, and where to put the MX credentials", () => {
    // Prepare
    const outputs = template.toJSON().Outputs as Record<string, unknown>;

    // Act
    const names = Object.keys(outputs);

    // Assess
    expect(names).toEqual(
      expect.arrayContaining(["ApiUrl", "UserPoolId", "UserPoolClientId", "MxCredentialsSecretArn"]),
    );
  });
});

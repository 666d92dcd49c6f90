// The app-events bus and the alarms, read from the synthesized template (in-process, bundling skipped): the
// bus and its output, PutEvents granted to exactly the functions that publish, the encrypted alarm topic
// and its output, the failed-sync rate from Finish's log line, Errors and Throttles alarms for every
// function, every alarm notifying the topic, and cdk-nag's AwsSolutions checks still clean.
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp, SKIP_BUNDLING } from "../infra/build";
import type { MxConnectStack } from "../infra/stack";

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

let stack: MxConnectStack;
let app: ReturnType<typeof buildApp>["app"];
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ app, stack } = buildApp({ context: { ...SKIP_BUNDLING }, nag: false }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const entryOf = (r: Resource) => String(r.Metadata?.["mx-connect:entry"] ?? "");
const functions = () =>
  ofType("AWS::Lambda::Function").filter(([, r]) => entryOf(r).startsWith("functions/"));

function statementsOf(fn: Resource): Statement[] {
  const roleRef = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  return ofType("AWS::IAM::Policy")
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("the app's event bus", () => {
  it("is created, named in the outputs", () => {
    const [[busId] = []] = ofType("AWS::Events::EventBus");
    expect(busId).toBeDefined();
    expect(template.toJSON().Outputs.EventBusName.Value).toEqual({ Ref: busId });
  });

  it("only Finish, the background refresh and the member purge may publish, only to that bus, and only they know its name", () => {
    const [[busId] = []] = ofType("AWS::Events::EventBus");
    const publishers = functions()
      .filter(([, fn]) => statementsOf(fn).some((s) => actions(s).includes("events:PutEvents")))
      .map(([, fn]) => entryOf(fn))
      .sort();
    expect(publishers).toEqual([
      "functions/purge-member.ts",
      "functions/refresh-consumer.ts",
      "functions/sync-finish.ts",
    ]);
    for (const [id, fn] of functions()) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.EVENT_BUS_NAME !== undefined, id).toBe(publishers.includes(entryOf(fn)));
      for (const s of statementsOf(fn).filter((s) => actions(s).includes("events:PutEvents"))) {
        expect(s.Resource, id).toEqual({ "Fn::GetAtt": [busId, "Arn"] });
      }
    }
  });
});

describe("alarms", () => {
  it("notify an SNS topic encrypted with a key CloudWatch may use, its ARN in the outputs", () => {
    const [[topicId, topic] = []] = ofType("AWS::SNS::Topic");
    expect(topic?.Properties.KmsMasterKeyId).toBeDefined();
    expect(template.toJSON().Outputs.AlarmTopicArn.Value).toEqual({ Ref: topicId });
    const alarms = ofType("AWS::CloudWatch::Alarm");
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
  });

  it("watch Errors and Throttles of every function", () => {
    const watched = (metricName: string) =>
      ofType("AWS::CloudWatch::Alarm")
        .filter(([, a]) => a.Properties.MetricName === metricName && a.Properties.Namespace === "AWS/Lambda")
        .map(([, a]) => JSON.stringify(a.Properties.Dimensions));
    for (const [id] of functions()) {
      const dimension = JSON.stringify([{ Name: "FunctionName", Value: { Ref: id } }]);
      expect(watched("Errors"), id).toContain(dimension);
      expect(watched("Throttles"), id).toContain(dimension);
    }
  });

  it("watch the failed-sync rate, counted from Finish's outcome log line", () => {
    const filters = ofType("AWS::Logs::MetricFilter").map(([, f]) => f.Properties);
    const failed = filters.find((f) => JSON.stringify(f.MetricTransformations).includes("SyncsFailed"));
    const ended = filters.find((f) => JSON.stringify(f.MetricTransformations).includes("SyncsEnded"));
    expect(failed?.FilterPattern).toMatch(
      /\$\.message = "Finished".*\$\.outcome = "FAILED".*\$\.outcome = "TIMED_OUT"/,
    );
    expect(ended?.FilterPattern).toMatch(/\$\.outcome = "SYNCED"/);
    const finish = functions().find(([, fn]) => entryOf(fn) === "functions/sync-finish.ts")?.[1];
    const logGroup = (finish?.Properties.LoggingConfig as { LogGroup: unknown } | undefined)?.LogGroup;
    expect(logGroup).toBeDefined();
    expect(failed?.LogGroupName).toEqual(logGroup);
    const rate = ofType("AWS::CloudWatch::Alarm").find(([, a]) =>
      JSON.stringify(a.Properties.Metrics ?? "").includes("failed / ended"),
    );
    expect(rate?.[1].Properties).toMatchObject({
      Threshold: 0.2,
      ComparisonOperator: "GreaterThanThreshold",
    });
  });

  it("leave cdk-nag AwsSolutions nothing to report on the bus, the topic, its key and the alarms", () => {
    // (infra.test.ts checks the whole stack; this names the findings these constructs would add.)
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const ours = report.violations.flatMap((v) =>
      v.violatingResources
        .filter((r) => /^(Events|Alarms)/.test(r.resourceLogicalId ?? ""))
        .map((r) => `${v.ruleName}: ${r.resourceLogicalId}`),
    );
    expect(ours).toEqual([]);
  });
});

// cdk-nag: the rule packs every synth runs (AwsSolutions and Serverless), and the acknowledgements, each
// with its reason, placed on the narrowest construct that causes the finding. Anything not acknowledged
// fails synth.
import { type CfnResource, Names, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/** The packs synth validates with (build.ts registers them; the tests run the same list). */
export function nagPacks(scope: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new ServerlessChecks(scope)];
}

export type NagPackName = "AwsSolutions" | "Serverless";

/**
 * The finding's rule id, e.g. `AwsSolutions-IAM5[Resource::*]` or `Serverless-LambdaDLQ`. Without the
 * `AwsSolutions::` plugin prefix synth prints: cdk-nag itself matches acknowledgements by bare rule id.
 */
const nagId = (pack: NagPackName, rule: string) => `${pack}-${rule}`;

export function acknowledge(
  scope: IConstruct,
  rule: string,
  reason: string,
  pack: NagPackName = "AwsSolutions",
): void {
  Validations.of(scope).acknowledge({ id: nagId(pack, rule), reason });
}

/**
 * A function whose every invoker waits for its answer: a dead-letter queue only ever receives failed
 * asynchronous events, so it would stay empty; the invoker sees and handles each failure.
 */
export function acknowledgeSynchronousInvocation(fn: IConstruct, invoker: string): void {
  acknowledge(
    fn,
    "LambdaDLQ",
    `Invoked synchronously only, by ${invoker}: a dead-letter queue receives failed asynchronous events, ` +
      "so it would stay empty here; the invoker gets each error and handles it.",
    "Serverless",
  );
}

/** `<LogicalId.Arn>` as cdk-nag prints a GetAtt in a finding. */
export function arnRef(resource: IConstruct): string {
  return `<${Stack.of(resource).getLogicalId(resource as CfnResource)}.Arn>`;
}

/**
 * A Lambda fed by an SQS queue's event source mapping (after `addEventSource`): the mapping waits for each
 * batch, and a message that fails every receive moves to the queue's own dead-letter queue.
 */
export function acknowledgeQueueConsumer(fn: IConstruct, queue: IConstruct): void {
  acknowledgeSynchronousInvocation(fn, "its SQS event source mapping");
  const mapping = fn.node.tryFindChild(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`);
  if (!mapping) throw new Error(`${fn.node.path} has no event source for ${queue.node.path}`);
  acknowledge(
    mapping,
    "LambdaEventSourceMappingDestination",
    "An SQS event source takes no on-failure destination (Lambda offers them for streams and Kafka): a " +
      "message that fails maxReceiveCount receives moves to the queue's own dead-letter queue, alarmed.",
    "Serverless",
  );
}

/** A dead-letter queue has no redrive policy of its own. */
export function acknowledgeDeadLetterQueue(queue: IConstruct): void {
  acknowledge(
    queue,
    "SQSRedrivePolicy",
    "This is a dead-letter queue (alarmed): a DLQ of its own would only move failed messages one hop on.",
    "Serverless",
  );
}

export const REASONS = {
  xray:
    "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions: AWS documents '*' " +
    "as their only resource (added by CDK for active tracing).",
  tableIndexes:
    "The '/index/*' wildcard covers only this table's own secondary indexes (the transactions-by-date LSI and " +
    "the members-to-refresh GSI), which the storage code queries; it grants nothing outside this table.",
  functionVersions:
    "The state machine may invoke this one function's versions and aliases ('<function arn>:*'), as CDK's " +
    "LambdaInvoke grants; no other function is reachable.",
  logDelivery:
    "Step Functions log delivery (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups, …) supports " +
    "no resource-level permissions; AWS documents '*' as the only resource for these actions.",
  tableKey:
    "Read/write access to a table encrypted with the customer managed key: CDK grants the key's " +
    "kms:GenerateDataKey* and kms:ReEncrypt* families (the data-key calls DynamoDB makes on the caller's " +
    "behalf) on this one key only; the key policy and CloudTrail still govern every use.",
  runtime:
    "Node.js 22 is the runtime the project builds, bundles (esbuild target node22) and tests against; Lambda " +
    "supports it until 2027-04-30. Moving to Node.js 24 is a one-line change in MxFunction once CI runs 24.",
  mxRotation:
    "The MX client id and API key are issued by MX in its Client Dashboard; Secrets Manager cannot rotate them. " +
    "Operators replace the value when MX issues a new key (README: 'Rotating the MX API key').",
  webhookRotation:
    "Rotated by hand: MX must be given the new password at the same moment (MX Client Dashboard).",
  cognitoMfa:
    "MFA is offered (TOTP) but not forced by default: the client app owns its sign-in experience, and " +
    "every bank connection is further protected by the bank's own sign-in and MFA. Set `mfa: REQUIRED`.",
  cognitoPlus:
    "Cognito threat protection needs the paid Plus feature plan; it is the operator's choice, not a default " +
    "this open-source stack imposes. The API throttles per stage and every route needs a valid token.",
  stateKeyRotation:
    "The OAuth state key only signs short-lived (minutes) single-use states; rotate it on demand with " +
    "`aws secretsmanager put-secret-value` (only in-flight OAuth redirects are then refused, and users retry). " +
    "A rotation Lambda would add more attack surface than it removes.",
} as const;

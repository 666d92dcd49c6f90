// cdk-nag (AwsSolutions) acknowledgements, each with its reason, placed on the narrowest construct
// that causes the finding. Anything not acknowledged here fails synth.
import { type CfnResource, Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * The finding's rule id, e.g. `AwsSolutions-IAM5[Resource::*]`. Without the `AwsSolutions::` plugin
 * prefix synth prints: cdk-nag itself matches acknowledgements by bare rule id (its validateScope too).
 */
const nagId = (rule: string) => `AwsSolutions-${rule}`;

export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: nagId(rule), reason });
}

/** `<LogicalId.Arn>` as cdk-nag prints a GetAtt in a finding. */
export function arnRef(resource: IConstruct): string {
  return `<${Stack.of(resource).getLogicalId(resource as CfnResource)}.Arn>`;
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
  runtime:
    "Node.js 22 is the runtime the project builds, bundles (esbuild target node22) and tests against; Lambda " +
    "supports it until 2027-04-30. Moving to Node.js 24 is a one-line change in MxFunction once CI runs 24.",
  mxRotation:
    "The MX client id and API key are issued by MX in its Client Dashboard; Secrets Manager cannot rotate them. " +
    "Operators replace the value when MX issues a new key (README: 'Rotating the MX API key').",
  stateKeyRotation:
    "The OAuth state key only signs short-lived (minutes) single-use states; rotate it on demand with " +
    "`aws secretsmanager put-secret-value` (only in-flight OAuth redirects are then refused, and users retry). " +
    "A rotation Lambda would add more attack surface than it removes.",
} as const;

// The one Lambda construct every handler uses, so runtime, bundling, logging and tracing are decided once.
import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, type NodejsFunctionProps } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { LAMBDA_BUNDLING } from "../bundling";
import { FUNCTION_DEFAULTS } from "../function-defaults";
import { ENTRY_METADATA_KEY } from "../metadata";
import { acknowledge, REASONS } from "../nag";

/**
 * CDK context (or the stack prop of that name): days the transactions change log keeps its entries, and so
 * how long a changes-feed cursor lives. Every function with the table gets it, so writers (TTL) and the
 * feed (410 after it) agree; unset, the code's default (30) applies.
 */
export const CHANGE_RETENTION_CONTEXT = "changeRetentionDays";

function changeRetentionDays(scope: Construct): string | undefined {
  const value: unknown = scope.node.tryGetContext(CHANGE_RETENTION_CONTEXT);
  if (value === undefined) return undefined;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(
      `${CHANGE_RETENTION_CONTEXT} must be a whole number of days in 1..3650, got ${String(value)}`,
    );
  }
  return String(days);
}

export interface MxFunctionProps
  extends Omit<
    NodejsFunctionProps,
    "entry" | "runtime" | "architecture" | "tracing" | "logGroup" | "loggingFormat" | "role" | "bundling"
  > {
  /** The handler module, relative to the project root, e.g. `functions/sync-poll.ts`. */
  readonly entry: string;
  /** The project root (holds package-lock.json and `entry`). */
  readonly projectRoot: string;
  /** Log retention (default three months). */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A Node.js 22 arm64 Lambda bundled by esbuild as minified ESM with source maps, X-Ray active tracing,
 * JSON logs to its own log group with retention, and its own role that starts with only the right to
 * write that log group: every other permission is granted by the stack, one sentence per need.
 */
export class MxFunction extends NodejsFunction {
  /** The entry module path recorded in the template (used by the local workflow runner). */
  readonly entryModule: string;
  readonly logGroupResource: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MxFunctionProps) {
    const { entry, projectRoot, logRetention, environment, ...rest } = props;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the default one: no AWSLambdaBasicExecutionRole managed policy
    // (which may create any log group and write to all of them), only this function's log group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs ${entry}`,
    });
    logGroup.grantWrite(role);
    const retention = environment?.TABLE_NAME ? changeRetentionDays(scope) : undefined;

    super(scope, id, {
      memorySize: FUNCTION_DEFAULTS.memorySize,
      timeout: Duration.seconds(FUNCTION_DEFAULTS.timeoutSeconds),
      ...rest,
      entry: join(projectRoot, entry),
      projectRoot,
      depsLockFilePath: join(projectRoot, "package-lock.json"),
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: "mx-connect",
        LOG_LEVEL: "INFO",
        ...(retention ? { CHANGE_RETENTION_DAYS: retention } : {}),
        ...environment,
      },
      bundling: LAMBDA_BUNDLING,
    });
    this.entryModule = entry;
    this.logGroupResource = logGroup;
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(ENTRY_METADATA_KEY, entry);
    acknowledge(role, "IAM5[Resource::*]", REASONS.xray);
    acknowledge(this, "L1", REASONS.runtime);
    acknowledge(this, "LambdaLatestVersion", REASONS.runtime, "Serverless");
  }
}

// The sync workflow: its task Lambdas and the Standard state machine that drives them
// (definition in infra/workflow/definition.ts).
import { ArnFormat, type CfnResource, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { DEFAULT_CHALLENGE_TIMEOUT_SECONDS } from "../../shared/domain/sync";
import { STATE_MACHINE_METADATA_KEY } from "../metadata";
import { acknowledge, acknowledgeSynchronousInvocation, arnRef, REASONS } from "../nag";
import {
  buildSyncDefinition,
  type SyncTaskFunctions,
  type SyncWorkflowSettings,
} from "../workflow/definition";
import { MxFunction } from "./function";

export interface SyncWorkflowProps extends SyncWorkflowSettings {
  readonly projectRoot: string;
  readonly table: dynamodb.ITableV2;
  readonly mxCredentials: secretsmanager.ISecret;
  /** MX Platform API base URL, e.g. https://int-api.mx.com (integrations) or https://api.mx.com. */
  readonly mxBaseUrl: string;
  /** Extra environment for every task Lambda (the tunables in shared/config.ts, as strings). */
  readonly environment?: Record<string, string>;
  /** The whole run's limit (default 3 h: polling phases, MFA rounds and the fan-out). */
  readonly timeout?: Duration;
  /** Ask MX for extended transaction history (up to 24 months) on each member's first sync (default off). */
  readonly extendedHistory?: boolean;
}

export class SyncWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: SyncTaskFunctions & Record<keyof SyncTaskFunctions, MxFunction>;

  constructor(scope: Construct, id: string, props: SyncWorkflowProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.hours(3);
    const challengeTimeout = props.challengeTimeout ?? Duration.seconds(DEFAULT_CHALLENGE_TIMEOUT_SECONDS);
    const environment = {
      TABLE_NAME: props.table.tableName,
      MX_BASE_URL: props.mxBaseUrl,
      MX_SECRET_ID: props.mxCredentials.secretArn,
      // The AwaitChallenge task's TimeoutSeconds: the stored token is handed out for that long only.
      CHALLENGE_TIMEOUT_SECONDS: String(challengeTimeout.toSeconds()),
      // The member's lease outlives the longest run, so a run the service timed out cannot overlap the next.
      SYNC_LEASE_SECONDS: String(timeout.toSeconds() + 300),
      EXTENDED_HISTORY: String(props.extendedHistory ?? false),
      ...props.environment,
    };
    const fn = (name: string, entry: string, timeout = Duration.seconds(30)) =>
      new MxFunction(this, name, { entry, projectRoot: props.projectRoot, environment, timeout });

    this.functions = {
      begin: fn("Begin", "functions/sync-begin.ts"),
      poll: fn("Poll", "functions/sync-poll.ts"),
      challenge: fn("Challenge", "functions/sync-challenge.ts"),
      identify: fn("Identify", "functions/sync-identify.ts"),
      extendHistory: fn("ExtendHistory", "functions/sync-extend-history.ts"),
      owners: fn("Owners", "functions/sync-owners.ts", Duration.minutes(2)),
      accounts: fn("Accounts", "functions/sync-accounts.ts", Duration.minutes(2)),
      transactionsPage: fn("TransactionsPage", "functions/sync-transactions-page.ts", Duration.minutes(2)),
      finish: fn("Finish", "functions/sync-finish.ts", Duration.minutes(2)),
    };
    const f = this.functions;
    for (const task of Object.values(f)) acknowledgeSynchronousInvocation(task, "the sync state machine");
    // Least privilege, one sentence per need: every task talks to MX except Finish, which only writes.
    const mxTasks = [
      f.begin,
      f.poll,
      f.challenge,
      f.identify,
      f.extendHistory,
      f.owners,
      f.accounts,
      f.transactionsPage,
    ];
    for (const task of mxTasks) props.mxCredentials.grantRead(task);
    for (const task of [...mxTasks, f.finish]) {
      props.table.grantReadWriteData(task);
      acknowledgeTableIndexes(task, props.table);
    }

    // The machine's name is fixed so its ARN is known without referencing it: AwaitChallenge resumes its
    // own run at once when MX has no prompt (SendTaskSuccess), and a reference from the function's
    // policy back to the machine that invokes the function would be a dependency cycle.
    const stateMachineName = `${Stack.of(this).stackName}-sync`;
    iam.Grant.addToPrincipal({
      grantee: f.challenge,
      actions: ["states:SendTaskSuccess", "states:SendTaskFailure"],
      resourceArns: [
        Stack.of(this).formatArn({
          service: "states",
          resource: "stateMachine",
          resourceName: stateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });

    // Under /aws/vendedlogs/ as AWS advises for vended logs: log delivery then adds no entry per log group to
    // the account's CloudWatch Logs resource policy, whose 5,120 characters fill up across machines.
    const logGroup = new logs.LogGroup(this, "Logs", {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      // States live in their own scope: their ids are the state names, free of the functions' ids.
      definitionBody: sfn.DefinitionBody.fromChainable(
        buildSyncDefinition(new Construct(this, "Definition"), f, { ...props, challengeTimeout }),
      ),
      timeout,
      tracingEnabled: true,
      // Execution data stays out of the logs: the state carries guids only, but logs outlive runs.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata(STATE_MACHINE_METADATA_KEY, "sync");
    acknowledgeStateMachineRole(this.stateMachine, Object.values(f));
  }
}

/**
 * The table grant's `<table>/index/*` resource, on the function's role; with a customer managed key, the
 * key's action families a read/write grant adds.
 */
export function acknowledgeTableIndexes(fn: MxFunction, table: dynamodb.ITableV2): void {
  const cfnTable = table.node.defaultChild;
  if (!fn.role) return;
  if (cfnTable) acknowledge(fn.role, `IAM5[Resource::${arnRef(cfnTable)}/index/*]`, REASONS.tableIndexes);
  if (table.encryptionKey)
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"])
      acknowledge(fn.role, `IAM5[Action::${action}]`, REASONS.tableKey);
}

/** Log delivery and X-Ray need '*'; invoking a function grants its versions too. */
export function acknowledgeStateMachineRole(stateMachine: sfn.StateMachine, fns: MxFunction[]): void {
  acknowledge(stateMachine.role, "IAM5[Resource::*]", `${REASONS.logDelivery} ${REASONS.xray}`);
  for (const fn of fns) {
    const cfn = fn.node.defaultChild;
    if (cfn) acknowledge(stateMachine.role, `IAM5[Resource::${arnRef(cfn)}:*]`, REASONS.functionVersions);
  }
}

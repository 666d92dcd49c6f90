// The scheduled refresh: EventBridge Scheduler starts a small state machine whose one task
// (functions/refresh-members.ts) lists the members to refresh, a page at a time, and starts a sync
// execution for each. A state machine rather than a direct Lambda target so paging, retries and a
// failed run are visible in the Step Functions console like the syncs they start.
import { type CfnResource, Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { STATE_MACHINE_METADATA_KEY } from "../metadata";
import { LAMBDA_SERVICE_ERRORS } from "../workflow/definition";
import { MxFunction } from "./function";
import { acknowledgeStateMachineRole, acknowledgeTableIndexes } from "./sync-workflow";

export interface RefreshScheduleProps {
  readonly projectRoot: string;
  readonly table: dynamodb.ITableV2;
  readonly syncStateMachine: sfn.IStateMachine;
  /** When to refresh (default daily at 06:00 UTC). */
  readonly schedule?: scheduler.ScheduleExpression;
  readonly environment?: Record<string, string>;
}

export class RefreshSchedule extends Construct {
  readonly function: MxFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: RefreshScheduleProps) {
    super(scope, id);
    this.function = new MxFunction(this, "RefreshMembers", {
      entry: "functions/refresh-members.ts",
      projectRoot: props.projectRoot,
      timeout: Duration.minutes(5),
      environment: {
        TABLE_NAME: props.table.tableName,
        STATE_MACHINE_ARN: props.syncStateMachine.stateMachineArn,
        ...props.environment,
      },
    });
    props.table.grantReadData(this.function);
    acknowledgeTableIndexes(this.function, props.table);
    props.syncStateMachine.grantStartExecution(this.function);

    // RefreshMembers({cursor?}) → {started, cursor?}; loop while there is a cursor.
    const refresh = tasks.LambdaInvoke.jsonPath(this, "RefreshMembersPage", {
      lambdaFunction: this.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    refresh.addRetry({
      errors: [...LAMBDA_SERVICE_ERRORS, "ThrottlingException"],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    refresh.addCatch(
      sfn.Fail.jsonPath(this, "RefreshFailed", {
        error: "RefreshFailed",
        cause: "Listing or starting syncs failed",
      }),
      { resultPath: "$.error" },
    );
    const definition = refresh.next(
      sfn.Choice.jsonPath(this, "MorePages")
        .when(
          sfn.Condition.isPresent("$.cursor"),
          sfn.Pass.jsonPath(this, "NextPage", {
            parameters: { cursor: sfn.JsonPath.stringAt("$.cursor") },
          }).next(refresh),
        )
        .otherwise(sfn.Succeed.jsonPath(this, "Done")),
    );
    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(1),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata(STATE_MACHINE_METADATA_KEY, "refresh");
    acknowledgeStateMachineRole(this.stateMachine, [this.function]);

    // The target creates the schedule's role with states:StartExecution on this machine only.
    this.schedule = new scheduler.Schedule(this, "Schedule", {
      description: "Refreshes connected MX members",
      schedule: props.schedule ?? scheduler.ScheduleExpression.cron({ hour: "6", minute: "0" }),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
      }),
    });
  }
}

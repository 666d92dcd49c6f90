// The background refresh: MX's webhooks and a periodic sweep put members on one SQS queue (with a DLQ);
// its consumer Lambda reads what MX aggregated in the background (shared/refresh/refresh-member.ts), never
// asking MX to aggregate. A plain Lambda, not a Standard workflow: a refresh is one status call and, when
// MX has news, a few list calls, well inside one invocation; a workflow would cost ~35 state transitions
// (~$0.0009) per member per refresh, about 30× the Lambda + SQS + DynamoDB cost (README "Background refresh").
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { apiRoutes } from "../../shared/api/routes";
import { BACKGROUND_REFRESH } from "../../shared/refresh/settings";
import { acknowledge, acknowledgeDeadLetterQueue, acknowledgeQueueConsumer, arnRef, REASONS } from "../nag";
import { MxFunction } from "./function";
import { acknowledgeTableIndexes } from "./sync-workflow";
import { workQueue } from "./work-queue";

export interface BackgroundRefreshProps {
  readonly projectRoot: string;
  readonly table: dynamodb.ITableV2;
  readonly mxSecret: secretsmanager.ISecret;
  readonly webhookSecret: secretsmanager.ISecret;
  readonly mxBaseUrl: string;
  /** The API's functions by route id: the routes that declare `mxWebhook` get the queue and the secret. */
  readonly routeFunctions: Record<string, MxFunction>;
  /** How often the sweep runs, in hours (default `BACKGROUND_REFRESH.sweepEveryHours`); it paces itself to it. */
  readonly sweepEveryHours?: number;
}

export class BackgroundRefresh extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Sweep invocations that failed Lambda's asynchronous retries. */
  readonly sweepDeadLetterQueue: sqs.Queue;
  readonly consumer: MxFunction;
  readonly sweep: MxFunction;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: BackgroundRefreshProps) {
    super(scope, id);
    const settings = BACKGROUND_REFRESH;
    const everyHours = props.sweepEveryHours ?? settings.sweepEveryHours;
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, settings));

    const environment = {
      TABLE_NAME: props.table.tableName,
      REFRESH_QUEUE_URL: this.queue.queueUrl,
    };
    this.consumer = new MxFunction(this, "Consumer", {
      entry: "functions/refresh-consumer.ts",
      projectRoot: props.projectRoot,
      timeout: Duration.seconds(settings.consumerTimeoutSeconds),
      environment: {
        ...environment,
        MX_BASE_URL: props.mxBaseUrl,
        MX_SECRET_ID: props.mxSecret.secretArn,
      },
    });
    props.mxSecret.grantRead(this.consumer);
    props.table.grantReadWriteData(this.consumer);
    acknowledgeTableIndexes(this.consumer, props.table);
    // It continues a long sweep by enqueueing the next pass.
    this.queue.grantSendMessages(this.consumer);
    this.consumer.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        maxConcurrency: settings.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    acknowledgeQueueConsumer(this.consumer, this.queue);

    // The schedule invokes the sweep asynchronously: an event that failed Lambda's retries lands here and
    // alarms (three failed attempts stay under the function's Errors alarm threshold).
    this.sweepDeadLetterQueue = new sqs.Queue(this, "SweepDeadLetterQueue", {
      retentionPeriod: Duration.days(settings.dlqRetentionDays),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.sweep = new MxFunction(this, "Sweep", {
      entry: "functions/sweep.ts",
      projectRoot: props.projectRoot,
      timeout: Duration.minutes(5),
      // The cadence: the sweep derives its pace from it (and the previous sweep's count).
      environment: { ...environment, SWEEP_EVERY_HOURS: String(everyHours) },
      deadLetterQueue: this.sweepDeadLetterQueue,
    });
    // It reads the refresh index, and takes the sweep lease (one UpdateItem): it writes no member's rows.
    props.table.grantReadData(this.sweep);
    props.table.grant(this.sweep, "dynamodb:UpdateItem");
    acknowledgeTableIndexes(this.sweep, props.table);
    this.queue.grantSendMessages(this.sweep);
    // Its own role, allowed to invoke the sweep (and, as CDK grants it, the sweep's versions) and nothing else.
    const scheduleRole = new iam.Role(this, "SweepScheduleRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com"),
      description: "Invokes the background refresh's sweep",
    });
    const sweepFunction = this.sweep.node.defaultChild;
    if (sweepFunction) {
      acknowledge(scheduleRole, `IAM5[Resource::${arnRef(sweepFunction)}:*]`, REASONS.functionVersions);
    }
    this.schedule = new scheduler.Schedule(this, "SweepSchedule", {
      description: "Sweeps connected MX members for data MX aggregated in the background",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(everyHours)),
      target: new targets.LambdaInvoke(this.sweep, { retryAttempts: 2, role: scheduleRole }),
    });

    // The webhook route's Lambda: reads the basic-auth secret, sends to the queue, nothing else.
    for (const route of apiRoutes) {
      const fn = props.routeFunctions[route.id];
      if (!route.needs.mxWebhook || !fn) continue;
      fn.addEnvironment("WEBHOOK_SECRET_ID", props.webhookSecret.secretArn);
      fn.addEnvironment("REFRESH_QUEUE_URL", this.queue.queueUrl);
      props.webhookSecret.grantRead(fn);
      this.queue.grantSendMessages(fn);
      // Refused webhooks, countable: the handler logs `webhookUnauthorized: 1` (never the credentials).
      const metric = new logs.MetricFilter(this, `${route.id}Unauthorized`, {
        logGroup: fn.logGroupResource,
        filterPattern: logs.FilterPattern.numberValue("$.webhookUnauthorized", "=", 1),
        metricNamespace: "MxConnect",
        metricName: "WebhookUnauthorized",
        metricValue: "1",
      }).metric({ statistic: "Sum", period: Duration.minutes(5) });
      new cloudwatch.Alarm(this, `${route.id}UnauthorizedAlarm`, {
        metric,
        threshold: 10,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "Many refused MX webhooks: a wrong password at MX, or someone probing the route.",
      });
    }
    // Scheduled sweeps that found the previous one still running: the sweep no longer fits its cadence.
    const skipped = new logs.MetricFilter(this, "SweepSkipped", {
      logGroup: this.sweep.logGroupResource,
      filterPattern: logs.FilterPattern.numberValue("$.sweepSkipped", "=", 1),
      metricNamespace: "MxConnect",
      metricName: "SweepSkipped",
      metricValue: "1",
    }).metric({ statistic: "Sum", period: Duration.minutes(5) });
    new cloudwatch.Alarm(this, "SweepSkippedAlarm", {
      metric: skipped,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        "A scheduled sweep found the previous one still running: raise the cadence (-c sweepEveryHours) or the consumer's concurrency.",
    });
    new cloudwatch.Alarm(this, "DeadLetterAlarm", {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: "Background refreshes failed maxReceiveCount times: see the refresh DLQ.",
    });
    new cloudwatch.Alarm(this, "SweepDeadLetterAlarm", {
      metric: this.sweepDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: "A scheduled sweep failed every attempt: see the sweep's logs and its DLQ.",
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue);
    acknowledgeDeadLetterQueue(this.sweepDeadLetterQueue);
  }
}

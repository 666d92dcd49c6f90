// The member purge: DELETE marks a member DELETING and queues its purge on one SQS queue (with a DLQ); its
// consumer Lambda (functions/purge-member.ts) deletes the member's rows in steps while its invocation has
// time, sends its own continuation, and deletes the member item last. A Lambda on a queue rather than a
// workflow: a purge is a loop of identical steps whose only state is what is still stored.
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { apiRoutes } from "../../shared/api/routes";
import { MEMBER_PURGE } from "../../shared/members/settings";
import { acknowledgeDeadLetterQueue, acknowledgeQueueConsumer } from "../nag";
import { MxFunction } from "./function";
import { acknowledgeTableIndexes } from "./sync-workflow";
import { workQueue } from "./work-queue";

export interface MemberPurgeProps {
  readonly projectRoot: string;
  readonly table: dynamodb.ITableV2;
  /** The API's functions by route id: the routes that declare `memberPurge` may send to the queue. */
  readonly routeFunctions: Record<string, MxFunction>;
}

export class MemberPurge extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumer: MxFunction;

  constructor(scope: Construct, id: string, props: MemberPurgeProps) {
    super(scope, id);
    const settings = MEMBER_PURGE;
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, settings));

    this.consumer = new MxFunction(this, "Consumer", {
      entry: "functions/purge-member.ts",
      projectRoot: props.projectRoot,
      description: "Deletes a member's stored rows in the background after DELETE",
      timeout: Duration.seconds(settings.consumerTimeoutSeconds),
      environment: { TABLE_NAME: props.table.tableName, PURGE_QUEUE_URL: this.queue.queueUrl },
    });
    // It reads the member and deletes its rows (writing their change-log entries), and continues itself.
    props.table.grantReadWriteData(this.consumer);
    acknowledgeTableIndexes(this.consumer, props.table);
    this.queue.grantSendMessages(this.consumer);
    // One purge per invocation: each uses its whole time budget.
    this.consumer.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    acknowledgeQueueConsumer(this.consumer, this.queue);
    acknowledgeDeadLetterQueue(this.deadLetterQueue);

    // The DELETE route's Lambda sends to the queue, nothing else of it.
    for (const route of apiRoutes) {
      const fn = props.routeFunctions[route.id];
      if (!route.needs.memberPurge || !fn) continue;
      fn.addEnvironment("PURGE_QUEUE_URL", this.queue.queueUrl);
      this.queue.grantSendMessages(fn);
    }

    new cloudwatch.Alarm(this, "DeadLetterAlarm", {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        "A member purge failed maxReceiveCount times: the member stays DELETING; see the purge DLQ.",
    });
  }
}

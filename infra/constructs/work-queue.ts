// A queue of work for one consumer Lambda, with its dead-letter queue: encrypted, TLS only, visible again
// after 6× the consumer's timeout (AWS's advice for an SQS event source), dead-lettered after
// `maxReceiveCount` receives. Used by the background refresh and the member purge.
import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

export interface WorkQueueSettings {
  readonly consumerTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly dlqRetentionDays: number;
}

export function workQueue(
  scope: Construct,
  settings: WorkQueueSettings,
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, "DeadLetterQueue", {
    retentionPeriod: Duration.days(settings.dlqRetentionDays),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(scope, "Queue", {
    visibilityTimeout: Duration.seconds(settings.consumerTimeoutSeconds * 6),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

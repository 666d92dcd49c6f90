// The refresh queue of a Lambda: the SQS client built once per container, by the handlers that enqueue
// (the webhook, the sweep, the consumer continuing a sweep). Locally AWS_ENDPOINT_URL_SQS points at the
// embedded stack.
import { SQSClient } from "@aws-sdk/client-sqs";
import type { RefreshQueue } from "../refresh/messages";
import { sqsRefreshQueue } from "../refresh/sqs-queue";

const sqsClient = new SQSClient({});

export function refreshQueue(queueUrl: string): RefreshQueue {
  return sqsRefreshQueue(sqsClient, queueUrl);
}

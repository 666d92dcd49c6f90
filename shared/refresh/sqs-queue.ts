// The refresh queue on SQS (SendMessageBatch, 10 a request). A message SQS reports as failed is an error:
// the webhook then answers 5xx and MX redelivers; the sweep's invocation fails and its schedule retries.
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RefreshQueue } from "./messages";
import { MAX_DELAY_SECONDS } from "./settings";

const SQS_BATCH = 10;

export function sqsRefreshQueue(client: SQSClient, queueUrl: string): RefreshQueue {
  return {
    async send(messages) {
      for (let start = 0; start < messages.length; start += SQS_BATCH) {
        const batch = messages.slice(start, start + SQS_BATCH);
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map(({ message, delaySeconds }, index) => ({
              Id: String(index),
              MessageBody: JSON.stringify(message),
              ...(delaySeconds
                ? { DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor(delaySeconds))) }
                : {}),
            })),
          }),
        );
        const failed = result.Failed ?? [];
        if (failed.length > 0) {
          throw new Error(`SQS refused ${failed.length} refresh message(s): ${failed[0]?.Code ?? "unknown"}`);
        }
      }
    },
  };
}

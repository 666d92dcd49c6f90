// The purge queue: a message names the member whose rows to delete; the purge Lambda consumes it and sends
// its own continuation. The port, its message schema and its SQS adapter.
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod";
import { MAX_DELAY_SECONDS } from "../refresh/settings";

export const purgeMessageSchema = z.object({
  kind: z.literal("purgeMember"),
  userId: z.string().min(1),
  memberGuid: z.string().min(1),
});
export type PurgeMessage = z.infer<typeof purgeMessageSchema>;

export interface PurgeQueue {
  /** Enqueues the member's purge, delivered after `delaySeconds` (0..900). */
  send(message: PurgeMessage, delaySeconds: number): Promise<void>;
}

export function sqsPurgeQueue(client: SQSClient, queueUrl: string): PurgeQueue {
  return {
    async send(message, delaySeconds) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(purgeMessageSchema.parse(message)),
          DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor(delaySeconds))),
        }),
      );
    },
  };
}

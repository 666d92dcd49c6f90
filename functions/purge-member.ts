// SQS member purge queue (DELETE, then its own continuations): parse the batch → purgeMember (the member's rows in steps while time is left, then member.deleted and the member item; else its continuation) → the failed message ids (partial batch response).
import type { Context } from "aws-lambda";
import * as z from "zod";
import { config, eventsConfigSchema, purgeQueueConfigSchema, tableConfigSchema } from "../shared/config";
import { eventPublisher } from "../shared/events/lambda";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { purgeQueue } from "../shared/lambda/purge-queue";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { purgeMember } from "../shared/members/purge-member";
import { purgeMessageSchema } from "../shared/members/purge-queue";

const cfg = config(
  tableConfigSchema.extend({ ...purgeQueueConfigSchema.shape, ...eventsConfigSchema.shape }),
);
const { members } = tableStores(cfg.TABLE_NAME);
const queue = purgeQueue(cfg.PURGE_QUEUE_URL);
const events = eventPublisher();

const sqsEventSchema = z.object({
  Records: z.array(z.looseObject({ messageId: z.string(), body: z.string() })),
});

export const handler = lambdaEntry(
  workflowTask().handler(async (event: unknown, context: Context) => {
    const { Records } = parseEvent(sqsEventSchema, event, "SQS event");
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const record of Records) {
      const message = purgeMessageSchema.safeParse(safeJson(record.body));
      if (!message.success) {
        // Never deliverable: dropped, not retried into the DLQ.
        logger.warn("Purge message dropped: not a purge message", { messageId: record.messageId });
        continue;
      }
      try {
        const result = await purgeMember(
          {
            members,
            queue,
            events,
            now: () => new Date(),
            remainingMs: () => context.getRemainingTimeInMillis(),
          },
          message.data,
        );
        logger.info("Member purge", { memberGuid: message.data.memberGuid, ...result });
      } catch (error) {
        logger.warn("Member purge failed; it resumes on the next delivery", {
          memberGuid: message.data.memberGuid,
          error: error instanceof Error ? { name: error.name, message: error.message } : {},
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  }),
);

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

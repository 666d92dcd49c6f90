// SQS member purge queue (DELETE, then its own continuations): parse the batch → purgeMessages (per member: its rows in steps while time is left, then member.deleted and the member item; else its continuation) → the failed message ids (partial batch response).
import type { Context } from "aws-lambda";
import { config, eventsConfigSchema, purgeQueueConfigSchema, tableConfigSchema } from "../shared/config";
import { eventPublisher } from "../shared/events/lambda";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { purgeQueue } from "../shared/lambda/purge-queue";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { purgeMessages, sqsEventSchema } from "../shared/members/purge-member";

const cfg = config(
  tableConfigSchema.extend({ ...purgeQueueConfigSchema.shape, ...eventsConfigSchema.shape }),
);
const { members } = tableStores(cfg.TABLE_NAME);
const queue = purgeQueue(cfg.PURGE_QUEUE_URL);
const events = eventPublisher();

export const handler = lambdaEntry(
  workflowTask().handler(async (event: unknown, context: Context) => {
    const { Records } = parseEvent(sqsEventSchema, event, "SQS event");
    return purgeMessages(
      {
        members,
        queue,
        events,
        now: () => new Date(),
        remainingMs: () => context.getRemainingTimeInMillis(),
        log: logger,
      },
      Records,
    );
  }),
);

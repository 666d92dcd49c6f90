// Scheduled sweep (every few hours): sweepMembers (enqueue every connected member, staggered, for a background refresh; continues itself through the queue) → {enqueued, more}.
import { config, refreshQueueConfigSchema, tableConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { logger } from "../shared/lambda/logger";
import { refreshQueue } from "../shared/lambda/refresh-queue";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { sweepMembers } from "../shared/refresh/sweep";

const cfg = config(tableConfigSchema.extend(refreshQueueConfigSchema.shape));
const { members } = tableStores(cfg.TABLE_NAME);
const queue = refreshQueue(cfg.REFRESH_QUEUE_URL);

export const handler = lambdaEntry(
  workflowTask().handler(async () => {
    const result = await sweepMembers({ members, queue }, {});
    logger.info("Sweep", { enqueued: result.enqueued, more: result.cursor !== undefined });
    return { enqueued: result.enqueued, more: result.cursor !== undefined };
  }),
);

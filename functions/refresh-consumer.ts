// SQS refresh queue (webhooks, sweep): parse the batch → consumeRefreshMessages (one background refresh per member, no aggregate; history and app event when it synced) → the failed message ids (partial batch response).
import { backgroundRefreshConfigSchema, config } from "../shared/config";
import { eventPublisher } from "../shared/events/lambda";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { refreshQueue } from "../shared/lambda/refresh-queue";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { consumeRefreshMessages, sqsEventSchema } from "../shared/refresh/consume";

const cfg = config(backgroundRefreshConfigSchema);
const { members, bankData, history, sweeps } = tableStores(cfg.TABLE_NAME);
const events = eventPublisher();
const queue = refreshQueue(cfg.REFRESH_QUEUE_URL);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const { Records } = parseEvent(sqsEventSchema, event, "SQS event");
    const { batchItemFailures } = await consumeRefreshMessages(
      { mx: context.mx, members, bankData, history, sweeps, events, queue, log: logger },
      Records,
    );
    return { batchItemFailures };
  }),
);

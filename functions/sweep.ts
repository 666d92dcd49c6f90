// Scheduled sweep (every few hours): startSweep (take the sweep lease, or do nothing while another sweep runs; enqueue every connected member, staggered at a pace derived from the previous sweep's count, for a background refresh; continues itself through the queue) → {started, enqueued, more}.
import { config, refreshQueueConfigSchema, sweepConfigSchema, tableConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { logger } from "../shared/lambda/logger";
import { refreshQueue } from "../shared/lambda/refresh-queue";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { startSweep } from "../shared/refresh/sweep";

const cfg = config(tableConfigSchema.extend(refreshQueueConfigSchema.shape).extend(sweepConfigSchema.shape));
const { members, sweeps } = tableStores(cfg.TABLE_NAME);
const queue = refreshQueue(cfg.REFRESH_QUEUE_URL);

export const handler = lambdaEntry(
  workflowTask().handler(async (_event, context) => {
    // The request id names the sweep: Lambda's retries of the scheduled invocation keep it.
    const result = await startSweep(
      { members, queue, sweeps },
      { sweepId: context.awsRequestId, everyHours: cfg.SWEEP_EVERY_HOURS },
    );
    if (!result.started) {
      // Counted by a metric filter (infra/constructs/background-refresh.ts).
      logger.warn("Sweep skipped: the previous sweep is still running", {
        runningSweep: result.runningSweep,
        sweepSkipped: 1,
      });
      return { started: false, enqueued: 0, more: false };
    }
    const more = result.cursor !== undefined;
    logger.info("Sweep", {
      sweepId: result.sweepId,
      membersPerSecond: result.membersPerSecond,
      enqueued: result.enqueued,
      more,
    });
    return { started: true, membersPerSecond: result.membersPerSecond, enqueued: result.enqueued, more };
  }),
);

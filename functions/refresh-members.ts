// Scheduled refresh: parse {cursor?} → start a refresh run per synced member (named per member per day) until done or near the time limit → {started, cursor?}.
import { config, refreshConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { sfnPort } from "../shared/lambda/sfn";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { refreshInputSchema } from "../shared/sync/contract";
import { refreshMembers } from "../shared/sync/refresh-members";

const cfg = config(refreshConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);
const sfn = sfnPort(cfg.STATE_MACHINE_ARN);
/** Stop reading new pages with this much time left, and hand back the cursor instead. */
const RESERVE_MS = 30_000;

export const handler = lambdaEntry(
  workflowTask().handler(async (event, context) => {
    const input = parseEvent(refreshInputSchema, event ?? {}, "refresh input");
    const result = await refreshMembers({ members, sfn }, input, {
      pageSize: cfg.REFRESH_PAGE_SIZE,
      shouldStop: () => context.getRemainingTimeInMillis() < RESERVE_MS,
    });
    logger.info("Refresh started", { started: result.started, more: result.cursor !== undefined });
    return result;
  }),
);

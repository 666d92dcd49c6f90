// Finish: parse the run's outcome → record it on the member, drop vanished pending transactions, release the lease → {outcome}.
import { config, tableConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { finishInputSchema } from "../shared/sync/contract";
import { finishSync } from "../shared/sync/finish-sync";

const cfg = config(tableConfigSchema);
const { members, bankData } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  workflowTask().handler(async (event) => {
    const input = parseEvent(finishInputSchema, event, "Finish input");
    const result = await finishSync({ members, bankData }, input);
    logger.info("Finished", {
      ...result,
      connectionStatus: input.connectionStatus,
      error: input.error?.Error,
    });
    return result;
  }),
);

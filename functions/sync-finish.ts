// Finish: parse the run's outcome → record it on the member, drop vanished pending transactions, release the lease, record the run's history, publish the app's event → {outcome}.
import { config, tableConfigSchema } from "../shared/config";
import { eventPublisher } from "../shared/events/lambda";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { lambdaEntry, workflowTask } from "../shared/lambda/workflow";
import { finishInputSchema } from "../shared/sync/contract";
import { finishSync } from "../shared/sync/finish-sync";

const cfg = config(tableConfigSchema);
const { members, bankData, history } = tableStores(cfg.TABLE_NAME);
const events = eventPublisher();

export const handler = lambdaEntry(
  workflowTask().handler(async (event) => {
    const input = parseEvent(finishInputSchema, event, "Finish input");
    const result = await finishSync({ members, bankData, history, events }, input);
    logger.info("Finished", {
      ...result,
      connectionStatus: input.connectionStatus,
      error: input.error?.Error,
    });
    return result;
  }),
);

// StoreAccounts: parse {request, syncRun} → store every page of the member's accounts → {stored}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { taskBaseSchema } from "../shared/sync/contract";
import { storeAccounts } from "../shared/sync/store-accounts";

const cfg = config(syncConfigSchema);
const { bankData } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(taskBaseSchema, event, "StoreAccounts input");
    return storeAccounts({ mx: context.mx, bankData }, input);
  }),
);

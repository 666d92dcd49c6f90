// StoreOwners: parse {request, syncRun} → store every page of the member's account owners → {stored}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { taskBaseSchema } from "../shared/sync/contract";
import { storeOwners } from "../shared/sync/store-owners";

const cfg = config(syncConfigSchema);
const { bankData, members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(taskBaseSchema, event, "StoreOwners input");
    return storeOwners({ mx: context.mx, bankData, members }, input);
  }),
);

// StoreTransactionsPage: parse {request, syncRun, page, window} → store that page of transactions → {stored, totalPages, totalEntries}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { pageTaskInputSchema } from "../shared/sync/contract";
import { storeTransactionsPage } from "../shared/sync/store-transactions-page";

const cfg = config(syncConfigSchema);
const { bankData, members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(pageTaskInputSchema, event, "StoreTransactionsPage input");
    return storeTransactionsPage({ mx: context.mx, bankData, members }, input);
  }),
);

// Begin: parse {request, syncRun} → take the member's sync lease, aggregate on a refresh → {acquired, startedAt, window, windows, baseline, extendHistory}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { beginSync } from "../shared/sync/begin-sync";
import { taskBaseSchema } from "../shared/sync/contract";

const cfg = config(syncConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(taskBaseSchema, event, "Begin input");
    return beginSync({ mx: context.mx, members }, input, {
      leaseSeconds: cfg.SYNC_LEASE_SECONDS,
      initialHistoryDays: cfg.INITIAL_HISTORY_DAYS,
      refreshWindowDays: cfg.REFRESH_WINDOW_DAYS,
      extendedHistory: cfg.EXTENDED_HISTORY,
    });
  }),
);

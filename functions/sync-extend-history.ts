// ExtendHistory: parse {request, syncRun} → ask MX for extended history (403/400: recorded, skipped) → {kind, requested, baseline, phaseStartedAt}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { taskBaseSchema } from "../shared/sync/contract";
import { extendHistory } from "../shared/sync/extend-history";

const cfg = config(syncConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(taskBaseSchema, event, "ExtendHistory input");
    return extendHistory({ mx: context.mx, members }, input);
  }),
);

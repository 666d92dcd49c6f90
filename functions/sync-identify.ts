// Identify: parse {request, syncRun} → ask MX for identity data (403: recorded, skipped) → {kind, requested, baseline, phaseStartedAt}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { taskBaseSchema } from "../shared/sync/contract";
import { identifyMember } from "../shared/sync/identify-member";

const cfg = config(syncConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(taskBaseSchema, event, "Identify input");
    return identifyMember({ mx: context.mx, members }, input);
  }),
);

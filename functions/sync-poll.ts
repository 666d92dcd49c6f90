// Poll: parse {request, syncRun, phaseStartedAt, baseline} → read and record the member's MX status → {phase, connectionStatus, waitSeconds, elapsedSeconds, dataAsOf}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { pollInputSchema } from "../shared/sync/contract";
import { pollMember } from "../shared/sync/poll-member";

const cfg = config(syncConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(pollInputSchema, event, "Poll input");
    const result = await pollMember({ mx: context.mx, members }, input, {
      phaseLimitSeconds: cfg.POLL_PHASE_LIMIT_SECONDS,
      maxWaitSeconds: cfg.POLL_MAX_WAIT_SECONDS,
      startGraceSeconds: cfg.POLL_JOB_START_GRACE_SECONDS,
    });
    logger.info("Polled", { phase: result.phase, connectionStatus: result.connectionStatus });
    return result;
  }),
);

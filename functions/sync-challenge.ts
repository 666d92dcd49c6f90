// AwaitChallenge (waitForTaskToken): parse {request, syncRun, taskToken, round} → store MX's prompts and the token (or resume at once when MX has none) → {waiting, challenges}.
import { config, syncConfigSchema } from "../shared/config";
import { tableStores } from "../shared/lambda/dynamo";
import { parseEvent } from "../shared/lambda/events";
import { logger } from "../shared/lambda/logger";
import { sfnPort } from "../shared/lambda/sfn";
import { lambdaEntry, mxWorkflowTask } from "../shared/lambda/workflow";
import { awaitChallenge } from "../shared/sync/await-challenge";
import { challengeInputSchema } from "../shared/sync/contract";

const cfg = config(syncConfigSchema);
const { members } = tableStores(cfg.TABLE_NAME);
const sfn = sfnPort();

export const handler = lambdaEntry(
  mxWorkflowTask(cfg).handler(async (event, context) => {
    const input = parseEvent(challengeInputSchema, event, "AwaitChallenge input");
    const result = await awaitChallenge({ mx: context.mx, members, sfn }, input, {
      challengeTimeoutSeconds: cfg.CHALLENGE_TIMEOUT_SECONDS,
    });
    logger.info("Challenge", { round: input.round, ...result });
    return result;
  }),
);

// POST /v1/members/{member_guid}/challenges: the user's MFA answers go to MX and resume the waiting sync (202).

import { apiChallengeConfigSchema } from "../shared/api/config";
import { type MxContext, mxMiddlewares, stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { getMember } from "../shared/api/members";
import { answerChallengesBodySchema, memberParamsSchema } from "../shared/api/schemas";
import { config } from "../shared/config";
import { sfnClient } from "../shared/lambda/clients";
import { answerChallenge } from "../shared/sync/answer-challenge";
import { createSfnPort } from "../shared/sync/sfn";

const env = config(apiChallengeConfigSchema);
// Only task responses: this route never starts an execution, so it needs no state machine ARN.
const sfn = createSfnPort(sfnClient);

export const handler = apiHandler(
  { params: memberParamsSchema, body: answerChallengesBodySchema, middlewares: mxMiddlewares(env) },
  async ({ userId, params, body }, context: MxContext) => {
    const { members } = stores(env.TABLE_NAME);
    await answerChallenge(
      { mx: context.mx, members, sfn },
      { userId, memberGuid: params.member_guid, answers: body.challenges },
      { challengeTimeoutSeconds: env.CHALLENGE_TIMEOUT_SECONDS },
    );
    return json(202, { member: await getMember({ members }, userId, params.member_guid) });
  },
);

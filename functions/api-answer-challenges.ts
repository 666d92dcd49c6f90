// POST /v1/members/{member_guid}/challenges: parse the answers → answerChallenge (MX resume, then the run) → 202 {member}.
import { apiHandler, json } from "../shared/api/http";
import { getMember } from "../shared/api/members";
import { answerChallengesBodySchema, memberParamsSchema } from "../shared/api/schemas";
import * as mxClients from "../shared/lambda/mx";
import * as stepFunctions from "../shared/lambda/sfn";
import { answerChallenge } from "../shared/sync/answer-challenge";

export const handler = apiHandler(
  "AnswerChallenges",
  { mxClients, params: memberParamsSchema, body: answerChallengesBodySchema, stepFunctions },
  async ({ userId, params, body }, deps) => {
    await answerChallenge(
      deps,
      { userId, memberGuid: params.member_guid, answers: body.challenges },
      { challengeTimeoutSeconds: deps.challengeTimeoutSeconds },
    );
    return json(202, { member: await getMember(deps, userId, params.member_guid) });
  },
);

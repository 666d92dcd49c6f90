// GET /v1/members/{member_guid}/challenges: parse the guid → getChallenges (stored prompts, never answers) → 200.
import { apiHandler, json } from "../shared/api/http";
import { getChallenges } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";

export const handler = apiHandler(
  "GetChallenges",
  { params: memberParamsSchema },
  async ({ userId, params }, deps) =>
    json(200, { challenges: await getChallenges(deps, userId, params.member_guid) }),
);

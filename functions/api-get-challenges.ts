// GET /v1/members/{member_guid}/challenges: the MFA prompts waiting for the user (never answers).
import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { getChallenges } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler({ params: memberParamsSchema }, async ({ userId, params }) =>
  json(200, { challenges: await getChallenges(stores(env.TABLE_NAME), userId, params.member_guid) }),
);

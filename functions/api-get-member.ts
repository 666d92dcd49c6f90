// GET /v1/members/{member_guid}: one of the user's members with its connection and sync status.
import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { getMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler({ params: memberParamsSchema }, async ({ userId, params }) =>
  json(200, { member: await getMember(stores(env.TABLE_NAME), userId, params.member_guid) }),
);

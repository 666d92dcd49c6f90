// GET /v1/members/{member_guid}/owners: the member's account owners, from DynamoDB.
import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { listOwners } from "../shared/api/reads";
import { memberParamsSchema } from "../shared/api/schemas";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler({ params: memberParamsSchema }, async ({ userId, params }) =>
  json(200, { account_owners: await listOwners(stores(env.TABLE_NAME), userId, params.member_guid) }),
);

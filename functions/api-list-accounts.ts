// GET /v1/accounts: every account of the user's members, from DynamoDB.
import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { listAccounts } from "../shared/api/reads";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler({}, async ({ userId }) =>
  json(200, { accounts: await listAccounts(stores(env.TABLE_NAME), userId) }),
);

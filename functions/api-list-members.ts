// GET /v1/members: the user's members with their connection and sync status.

import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { listMembers } from "../shared/api/members";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler({}, async ({ userId }) =>
  json(200, { members: await listMembers(stores(env.TABLE_NAME), userId) }),
);

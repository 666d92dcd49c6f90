// GET /v1/members/{member_guid}/owners: parse the guid → listOwners (from the table) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listOwners } from "../shared/api/reads";
import { memberParamsSchema } from "../shared/api/schemas";

export const handler = apiHandler(
  "ListOwners",
  { params: memberParamsSchema },
  async ({ userId, params }, deps) =>
    json(200, { account_owners: await listOwners(deps, userId, params.member_guid) }),
);

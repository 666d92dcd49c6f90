// GET /v1/members/{member_guid}: parse the guid → getMember (connection and sync status, from the table) → 200.
import { apiHandler, json } from "../shared/api/http";
import { getMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";

export const handler = apiHandler(
  "GetMember",
  { params: memberParamsSchema },
  async ({ userId, params }, deps) =>
    json(200, { member: await getMember(deps, userId, params.member_guid) }),
);

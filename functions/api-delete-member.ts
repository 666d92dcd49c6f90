// DELETE /v1/members/{member_guid}: parse the guid → deleteMember (stop its run, MX, every stored row, member.deleted) → 204.
import { apiHandler } from "../shared/api/http";
import { deleteMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import * as appEvents from "../shared/events/lambda";
import * as stepFunctions from "../shared/lambda/sfn";

export const handler = apiHandler(
  "DeleteMember",
  { params: memberParamsSchema, stepFunctions, appEvents },
  async ({ userId, params }, deps) => {
    await deleteMember(deps, userId, params.member_guid);
    return { statusCode: 204, headers: { "Cache-Control": "no-store" } };
  },
);

// DELETE /v1/members/{member_guid}: parse the guid → deleteMember (mark DELETING, stop its run, delete at MX, queue the purge) → 202 {member} (deleting).
import { apiHandler, json } from "../shared/api/http";
import { memberParamsSchema } from "../shared/api/schemas";
import * as mxClients from "../shared/lambda/mx";
import * as purgeQueues from "../shared/lambda/purge-queue";
import * as stepFunctions from "../shared/lambda/sfn";
import { deleteMember } from "../shared/members/delete-member";

export const handler = apiHandler(
  "DeleteMember",
  { mxClients, params: memberParamsSchema, stepFunctions, purgeQueues },
  async ({ userId, params }, deps) =>
    json(202, { member: await deleteMember(deps, userId, params.member_guid) }),
);

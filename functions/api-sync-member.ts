// POST /v1/members/{member_guid}/sync: parse the guid → syncMember (a refresh run unless one holds the member) → 202 {member}.
import { apiHandler, json } from "../shared/api/http";
import { syncMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import * as stepFunctions from "../shared/lambda/sfn";

export const handler = apiHandler(
  "SyncMember",
  { params: memberParamsSchema, stepFunctions },
  async ({ userId, params }, deps) =>
    json(202, { member: (await syncMember(deps, userId, params.member_guid)).member }),
);

// GET /v1/members/{member_guid}/syncs: parse guid, limit, cursor → listSyncs (the member's runs, newest first) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listSyncs } from "../shared/api/reads";
import { listSyncsQuerySchema, memberParamsSchema } from "../shared/api/schemas";

export const handler = apiHandler(
  "ListSyncs",
  { params: memberParamsSchema, query: listSyncsQuerySchema },
  async ({ userId, params, query }, deps) =>
    json(200, await listSyncs(deps, userId, params.member_guid, query)),
);

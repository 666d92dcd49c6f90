// GET /v1/members: the caller → listMembers (connection and sync status, from the table) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listMembers } from "../shared/api/members";

export const handler = apiHandler("ListMembers", {}, async ({ userId }, deps) =>
  json(200, { members: await listMembers(deps, userId) }),
);

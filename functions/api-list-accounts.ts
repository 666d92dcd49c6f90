// GET /v1/accounts: the caller → listAccounts (every account of the user's members, from the table) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listAccounts } from "../shared/api/reads";

export const handler = apiHandler("ListAccounts", {}, async ({ userId }, deps) =>
  json(200, { accounts: await listAccounts(deps, userId) }),
);

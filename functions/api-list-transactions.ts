// GET /v1/accounts/{account_guid}/transactions: parse guid, dates, limit, cursor → listTransactions (newest first) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listTransactions } from "../shared/api/reads";
import { accountParamsSchema, listTransactionsQuerySchema } from "../shared/api/schemas";

export const handler = apiHandler(
  "ListTransactions",
  { params: accountParamsSchema, query: listTransactionsQuerySchema },
  async ({ userId, params, query }, deps) =>
    json(200, await listTransactions(deps, userId, params.account_guid, query)),
);

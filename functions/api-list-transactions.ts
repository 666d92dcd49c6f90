// GET /v1/accounts/{account_guid}/transactions: newest first, filtered by date, paged by an opaque cursor.
import { stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { listTransactions } from "../shared/api/reads";
import { accountParamsSchema, listTransactionsQuerySchema } from "../shared/api/schemas";
import { config, tableConfigSchema } from "../shared/config";

const env = config(tableConfigSchema);

export const handler = apiHandler(
  { params: accountParamsSchema, query: listTransactionsQuerySchema },
  async ({ userId, params, query }) =>
    json(200, await listTransactions(stores(env.TABLE_NAME), userId, params.account_guid, query)),
);

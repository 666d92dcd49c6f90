// GET /v1/transactions/sync: parse cursor, count, member/account filter → syncTransactions (changes since the cursor) → 200.
import { apiHandler, json } from "../shared/api/http";
import { transactionsSyncQuerySchema } from "../shared/api/schemas";
import * as signingKeys from "../shared/api/signing-key";
import { syncTransactions } from "../shared/feed/transactions-sync";

export const handler = apiHandler(
  "TransactionsSync",
  { signingKeys, query: transactionsSyncQuerySchema },
  async ({ userId, query }, deps) => json(200, await syncTransactions(deps, userId, query)),
);

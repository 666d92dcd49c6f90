// GET /v1/institutions?name=: parse the query → searchInstitutions (MX) → 200 {institutions, pagination}.
import { apiHandler, json } from "../shared/api/http";
import { searchInstitutions } from "../shared/api/institutions";
import { searchInstitutionsQuerySchema } from "../shared/api/schemas";
import * as mxClients from "../shared/lambda/mx";

export const handler = apiHandler(
  "SearchInstitutions",
  { mxClients, query: searchInstitutionsQuerySchema },
  async ({ query }, deps) => json(200, await searchInstitutions(deps, query)),
);

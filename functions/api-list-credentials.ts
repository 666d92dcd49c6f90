// GET /v1/institutions/{institution_code}/credentials: parse the code → listCredentialFields (MX) → 200.
import { apiHandler, json } from "../shared/api/http";
import { listCredentialFields } from "../shared/api/institutions";
import { institutionParamsSchema } from "../shared/api/schemas";
import * as mxClients from "../shared/lambda/mx";

export const handler = apiHandler(
  "ListCredentials",
  { mxClients, params: institutionParamsSchema },
  async ({ params }, deps) =>
    json(200, { credentials: await listCredentialFields(deps, params.institution_code) }),
);

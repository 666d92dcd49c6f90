// GET /v1/institutions/{institution_code}/credentials: the credential fields the user must fill in.
import { type MxContext, mxMiddlewares } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { listCredentialFields } from "../shared/api/institutions";
import { institutionParamsSchema } from "../shared/api/schemas";
import { config, mxConfigSchema } from "../shared/config";

const env = config(mxConfigSchema);

export const handler = apiHandler(
  { params: institutionParamsSchema, middlewares: mxMiddlewares(env) },
  async ({ params }, context: MxContext) =>
    json(200, { credentials: await listCredentialFields({ mx: context.mx }, params.institution_code) }),
);

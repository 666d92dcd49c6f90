// GET /v1/institutions?name=: search MX's institutions by name.
import { type MxContext, mxMiddlewares } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { searchInstitutions } from "../shared/api/institutions";
import { searchInstitutionsQuerySchema } from "../shared/api/schemas";
import { config, mxConfigSchema } from "../shared/config";

const env = config(mxConfigSchema);

export const handler = apiHandler(
  { query: searchInstitutionsQuerySchema, middlewares: mxMiddlewares(env) },
  async ({ query }, context: MxContext) => json(200, await searchInstitutions({ mx: context.mx }, query)),
);

// DELETE /v1/members/{member_guid}: delete the member at MX and every row stored for it (204).
import { apiDeleteConfigSchema } from "../shared/api/config";
import { type MxContext, mxMiddlewares, runStopper, stores } from "../shared/api/deps";
import { apiHandler } from "../shared/api/http";
import { deleteMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import { config } from "../shared/config";

const env = config(apiDeleteConfigSchema);
const stopRun = runStopper(env.STATE_MACHINE_ARN);

export const handler = apiHandler(
  { params: memberParamsSchema, middlewares: mxMiddlewares(env) },
  async ({ userId, params }, context: MxContext) => {
    await deleteMember({ mx: context.mx, ...stores(env.TABLE_NAME), stopRun }, userId, params.member_guid);
    return { statusCode: 204, headers: { "Cache-Control": "no-store" } };
  },
);

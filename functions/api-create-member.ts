// POST /v1/members: connect a bank (credentials or OAuth); idempotent for a retried identical request.
import { apiConnectConfigSchema } from "../shared/api/config";
import {
  type KeysContext,
  type MxContext,
  mxMiddlewares,
  sfnPort,
  signingKeyMiddlewares,
  stores,
} from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { checkRedirectUrl, createMember } from "../shared/api/members";
import { createMemberBodySchema } from "../shared/api/schemas";
import { config } from "../shared/config";

const env = config(apiConnectConfigSchema);

export const handler = apiHandler(
  {
    body: createMemberBodySchema,
    check: ({ body }) => checkRedirectUrl(body, env.REDIRECT_ALLOW_LIST),
    middlewares: [...mxMiddlewares(env), ...signingKeyMiddlewares(env.OAUTH_STATE_SECRET_ID)],
  },
  async ({ userId, body }, context: MxContext & KeysContext) => {
    const created = await createMember(
      {
        mx: context.mx,
        members: stores(env.TABLE_NAME).members,
        sfn: sfnPort(env.STATE_MACHINE_ARN),
        keys: context.apiKeys,
        now: () => new Date(),
        redirectAllowList: env.REDIRECT_ALLOW_LIST,
        apiBaseUrl: env.API_BASE_URL,
      },
      userId,
      body,
    );
    return json(202, created);
  },
);

// GET /v1/oauth/callback/{state} (public): MX's OAuth redirect lands here; answers the browser with a redirect or a page.
import { apiCallbackConfigSchema } from "../shared/api/config";
import { type KeysContext, sfnPort, signingKeyMiddlewares, stores } from "../shared/api/deps";
import { apiHandler, htmlPage, redirect } from "../shared/api/http";
import { handleOauthCallback } from "../shared/api/oauth-callback";
import { oauthCallbackParamsSchema, oauthCallbackQuerySchema } from "../shared/api/schemas";
import { config } from "../shared/config";

const env = config(apiCallbackConfigSchema);

export const handler = apiHandler(
  {
    public: true,
    errors: "html",
    params: oauthCallbackParamsSchema,
    query: oauthCallbackQuerySchema,
    middlewares: signingKeyMiddlewares(env.OAUTH_STATE_SECRET_ID),
  },
  async ({ params, query }, context: KeysContext) => {
    const { members, once } = stores(env.TABLE_NAME);
    const outcome = await handleOauthCallback(
      {
        members,
        once,
        sfn: sfnPort(env.STATE_MACHINE_ARN),
        keys: context.apiKeys,
        now: () => new Date(),
        redirectAllowList: env.REDIRECT_ALLOW_LIST,
      },
      params.state,
      query,
    );
    return outcome.kind === "redirect"
      ? redirect(outcome.location)
      : htmlPage(outcome.status, outcome.title, outcome.message);
  },
);

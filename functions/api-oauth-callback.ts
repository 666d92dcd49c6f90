// GET /v1/oauth/callback/{state} (public): parse state and MX's query → handleOauthCallback → 302 to the app, or a page.
import { apiHandler, htmlPage, redirect } from "../shared/api/http";
import { handleOauthCallback } from "../shared/api/oauth-callback";
import { oauthCallbackParamsSchema, oauthCallbackQuerySchema } from "../shared/api/schemas";
import * as signingKeys from "../shared/api/signing-key";
import * as stepFunctions from "../shared/lambda/sfn";

export const handler = apiHandler(
  "OauthCallback",
  {
    signingKeys,
    errors: "html",
    params: oauthCallbackParamsSchema,
    query: oauthCallbackQuerySchema,
    stepFunctions,
  },
  async ({ params, query }, deps) => {
    const outcome = await handleOauthCallback(deps, params.state, query);
    return outcome.kind === "redirect"
      ? redirect(outcome.location)
      : htmlPage(outcome.status, outcome.title, outcome.message, outcome.wayBack);
  },
);

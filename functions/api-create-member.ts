// POST /v1/members: parse the body (redirect_url on the allow-list) → createMember (MX, table, first run) → 202 {member}.
import { apiHandler, json } from "../shared/api/http";
import { checkRedirectUrl, createMember } from "../shared/api/members";
import { createMemberBodySchema } from "../shared/api/schemas";
import * as signingKeys from "../shared/api/signing-key";
import * as mxClients from "../shared/lambda/mx";
import * as stepFunctions from "../shared/lambda/sfn";

export const handler = apiHandler(
  "CreateMember",
  {
    signingKeys,
    mxClients,
    body: createMemberBodySchema,
    check: ({ body }, deps) => checkRedirectUrl(body, deps.redirectAllowList),
    stepFunctions,
  },
  async ({ userId, body }, deps) => json(202, await createMember(deps, userId, body)),
);

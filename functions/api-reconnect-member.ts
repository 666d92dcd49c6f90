// POST /v1/members/{member_guid}/reconnect: parse guid and body → reconnectMember (new credentials to MX and a sync, or a new OAuth window) → 202 {member}.
import { apiHandler, json } from "../shared/api/http";
import { reconnectMember } from "../shared/api/reconnect";
import { memberParamsSchema, reconnectBodySchema } from "../shared/api/schemas";
import * as signingKeys from "../shared/api/signing-key";
import * as mxClients from "../shared/lambda/mx";
import * as stepFunctions from "../shared/lambda/sfn";

export const handler = apiHandler(
  "ReconnectMember",
  { signingKeys, mxClients, params: memberParamsSchema, body: reconnectBodySchema, stepFunctions },
  async ({ userId, params, body }, deps) =>
    json(202, await reconnectMember(deps, userId, params.member_guid, body)),
);

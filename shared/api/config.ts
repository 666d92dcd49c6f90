// The Connect API's configuration, parsed once per container by shared/config.ts (a missing or malformed
// variable fails with a message naming it). Each route reads only the schema for what it touches.
import * as z from "zod";
import { mxConfigSchema, stateMachineConfigSchema, tableConfigSchema } from "../config";

/** Routes that only read the table. */
export const apiTableConfigSchema = tableConfigSchema;

/** Routes that call MX (and read or write the table). */
export const apiMxConfigSchema = mxConfigSchema.extend({ TABLE_NAME: tableConfigSchema.shape.TABLE_NAME });

/** Comma-separated URL prefixes or origins, e.g. "https://app.example.com,myapp://oauth". */
const allowListSchema = z
  .string()
  .default("")
  .transform((list, ctx) => {
    const entries = list
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    for (const entry of entries) {
      if (!URL.canParse(entry)) ctx.addIssue({ code: "custom", message: `"${entry}" is not a URL` });
    }
    return entries.map((entry) => new URL(entry).href);
  });

/** The OAuth callback: the table, the workflow, the signing secret and the allow-list (checked again). */
export const apiCallbackConfigSchema = tableConfigSchema.extend({
  ...stateMachineConfigSchema.shape,
  /** Secrets Manager secret (a random string, 32+ characters) that signs OAuth states and idempotency ids. */
  OAUTH_STATE_SECRET_ID: z.string().min(1),
  /** Where an OAuth member's browser may be sent back to; empty: nowhere (the callback shows a page). */
  REDIRECT_ALLOW_LIST: allowListSchema,
});
export type ApiCallbackConfig = z.infer<typeof apiCallbackConfigSchema>;

/** POST /v1/members: all of the callback's, plus MX and this API's public URL. */
export const apiConnectConfigSchema = apiMxConfigSchema.extend({
  ...apiCallbackConfigSchema.shape,
  /** This API's public base URL: MX sends the browser to `<API_BASE_URL>/v1/oauth/callback/<state>`. */
  API_BASE_URL: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
});
export type ApiConnectConfig = z.infer<typeof apiConnectConfigSchema>;

/** POST …/challenges: MX (the answers go there), the table and the waiting run's task token. */
export const apiChallengeConfigSchema = apiMxConfigSchema.extend({
  /** The AwaitChallenge state's timeout: a refused answer's token is given back this long. */
  CHALLENGE_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(600),
});

/** DELETE a member: MX, the table, and the workflow (to stop a run that holds the member). */
export const apiDeleteConfigSchema = apiMxConfigSchema.extend(stateMachineConfigSchema.shape);

/** POST …/sync: the table and the workflow only. */
export const apiSyncConfigSchema = tableConfigSchema.extend(stateMachineConfigSchema.shape);

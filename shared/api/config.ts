// The Connect API's configuration, derived from what each route declares in shared/api/routes.ts and
// parsed once per container by shared/config.ts (a missing or malformed variable fails with its name).
import * as z from "zod";
import {
  baseConfigSchema,
  challengeConfigSchema,
  eventsConfigSchema,
  loadConfig,
  mxConfigSchema,
  purgeQueueConfigSchema,
  stateMachineConfigSchema,
  tableConfigSchema,
} from "../config";
import type { RouteNeeds } from "./routes";

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

/** `signingKey`: the Secrets Manager secret (a random string, 32+ characters) that signs OAuth states and idempotency ids. */
export const signingKeyConfigSchema = z.object({ OAUTH_STATE_SECRET_ID: z.string().min(1) });

/** `redirects`: where an OAuth member's browser may be sent back to; empty: nowhere (the callback shows a page). */
export const redirectsConfigSchema = z.object({ REDIRECT_ALLOW_LIST: allowListSchema });

/** `publicUrl`: this API's public base URL; MX sends the browser to `<API_BASE_URL>/v1/oauth/callback/<state>`. */
export const publicUrlConfigSchema = z.object({
  API_BASE_URL: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
});

/** Every schema a route's needs call for: all are checked together, so one message names every bad variable. */
export function routeConfigSchemas(needs: RouteNeeds): z.ZodObject[] {
  const schemas: z.ZodObject[] = [baseConfigSchema];
  if (needs.table !== "none") schemas.push(tableConfigSchema);
  if (needs.mx) schemas.push(mxConfigSchema);
  if (needs.signingKey) schemas.push(signingKeyConfigSchema);
  if (needs.startExecution || needs.stopExecution) schemas.push(stateMachineConfigSchema);
  if (needs.redirects) schemas.push(redirectsConfigSchema);
  if (needs.publicUrl) schemas.push(publicUrlConfigSchema);
  // The AwaitChallenge state's timeout: a refused answer's token is given back this long.
  if (needs.taskResponse) schemas.push(challengeConfigSchema);
  if (needs.events) schemas.push(eventsConfigSchema);
  if (needs.memberPurge) schemas.push(purgeQueueConfigSchema);
  return schemas;
}

/** Fails (ConfigError) naming every variable the route needs that is missing or malformed. */
export function checkRouteConfig(needs: RouteNeeds): void {
  const shape = Object.assign({}, ...routeConfigSchemas(needs).map((schema) => schema.shape));
  loadConfig(z.object(shape));
}

// MX credentials from Secrets Manager and the MX client built from them. The secret (JSON
// `{"client_id","api_key"}`) is fetched by @middy/secrets-manager and cached for a few minutes, so a
// rotated key is picked up without a redeploy; the client is rebuilt only when the secret's value changes.
// The raw secret is removed from the context once the client is built: nothing downstream (a logger that
// prints the context, a handler) can see it. Each invocation gets the client with a time budget that ends
// before the function's own timeout (shared/mx/budget.ts), so a slow MX ends in MxDeadlineError, not in
// a killed function.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { MiddlewareObj } from "@middy/core";
import secretsManager from "@middy/secrets-manager";
import { getCache } from "@middy/util";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { countingFetch } from "../history/mx-calls";
import type { MxApi } from "../mx/api";
import { mxBudget } from "../mx/budget";
import { createMxClient, type MxClient } from "../mx/client";

/** How long a fetched secret is reused before Secrets Manager is asked again. */
export const MX_SECRET_TTL_MS = 5 * 60_000;

const mxSecretSchema = z.object({ client_id: z.string().min(1), api_key: z.string().min(1) });

export interface MxClientOptions {
  MX_BASE_URL: string;
  MX_SECRET_ID: string;
}

/** What a handler behind `mxSecret()` + `mxClient()` finds on its context. */
export type MxContext = Context & { mx: MxApi };

/** The secret is invalid: says which secret and what shape it needs, never what it holds. */
export class MxSecretInvalidError extends Error {
  override name = "MxSecretInvalidError";
}

const cacheKey = (secretId: string) => `mx-secret:${secretId}`;

/** Fetches the MX secret (cached with a TTL) onto the context, for `mxClient()` to consume. */
export const mxSecret = (options: MxClientOptions) =>
  secretsManager({
    AwsClient: SecretsManagerClient,
    fetchData: { mxSecret: options.MX_SECRET_ID },
    setToContext: true,
    cacheKey: cacheKey(options.MX_SECRET_ID),
    cacheExpiry: MX_SECRET_TTL_MS,
    // Fetch on the first invocation rather than at import: a failure then surfaces as that invocation's
    // error (retried by the caller) instead of an unhandled rejection during init.
    disablePrefetch: true,
  });

let built: { baseUrl: string; clientId: string; apiKey: string; client: MxClient } | undefined;

/** One MX client per (base URL, secret value): reused across invocations, rebuilt after a rotation. */
export function mxClientFor(baseUrl: string, secret: unknown, secretId = "the MX secret"): MxClient {
  const parsed = mxSecretSchema.safeParse(secret);
  if (!parsed.success) {
    throw new MxSecretInvalidError(`${secretId} must hold JSON {"client_id": "…", "api_key": "…"}`);
  }
  const { client_id: clientId, api_key: apiKey } = parsed.data;
  if (built?.baseUrl !== baseUrl || built.clientId !== clientId || built.apiKey !== apiKey) {
    built = {
      baseUrl,
      clientId,
      apiKey,
      // Every request counted against the invocation that sends it (a sync run's mxCalls).
      client: createMxClient({ baseUrl, credentials: { clientId, apiKey }, fetch: countingFetch }),
    };
  }
  return built.client;
}

/**
 * Builds `context.mx` from the secret `mxSecret()` fetched, with this invocation's time budget, then drops
 * the raw secret from the context.
 */
export const mxClient = (options: MxClientOptions): MiddlewareObj<unknown, unknown, Error, MxContext> => ({
  before: (request) => {
    const context = request.context as MxContext & { mxSecret?: unknown };
    const secret = context.mxSecret;
    delete context.mxSecret;
    // The cache's refresh timer must not keep a local process (tests, the embedded stack) alive.
    getCache(cacheKey(options.MX_SECRET_ID)).refresh?.unref?.();
    const remainingTime = () => context.getRemainingTimeInMillis();
    context.mx = mxClientFor(options.MX_BASE_URL, secret, `Secret ${options.MX_SECRET_ID}`).withBudget(
      mxBudget(remainingTime),
    );
  },
});

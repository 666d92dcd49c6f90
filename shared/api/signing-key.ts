// The API signing keys (OAuth states, idempotency ids) on `context.apiKeys`: the secret is fetched (and
// cached with a TTL, so a rotation is picked up without a redeploy) by @middy/secrets-manager, the keys
// derived from it, and the raw secret removed from the context once used.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { MiddlewareObj } from "@middy/core";
import secretsManager from "@middy/secrets-manager";
import { getCache } from "@middy/util";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { type ApiKeys, deriveApiKeys } from "./oauth-state";

export type KeysContext = Context & { apiKeys: ApiKeys };

/** A fetched secret is reused this long, so a rotation is picked up without a redeploy. */
const SIGNING_SECRET_TTL_MS = 5 * 60_000;

/** Secrets Manager may hold the secret as a plain string or as JSON `{"secret": "…"}`. */
const signingSecretSchema = z.union([
  z.string().min(32),
  z.object({ secret: z.string().min(32) }).transform((value) => value.secret),
]);

export class SigningSecretInvalidError extends Error {
  override name = "SigningSecretInvalidError";
}

let derived: { secret: string; keys: ApiKeys } | undefined;

/** The API signing keys on `context.apiKeys`, derived from the secret (re-derived only when it changes). */
export const signingKeyMiddlewares = (secretId: string): MiddlewareObj[] => {
  const cacheKey = `api-signing-secret:${secretId}`;
  return [
    secretsManager({
      AwsClient: SecretsManagerClient,
      fetchData: { apiSigningSecret: secretId },
      setToContext: true,
      cacheKey,
      cacheExpiry: SIGNING_SECRET_TTL_MS,
      disablePrefetch: true,
    }) as MiddlewareObj,
    {
      before: (request) => {
        const context = request.context as KeysContext & { apiSigningSecret?: unknown };
        const raw = context.apiSigningSecret;
        delete context.apiSigningSecret;
        // The cache's refresh timer must not keep a local process (tests, the embedded stack) alive.
        getCache(cacheKey).refresh?.unref?.();
        const parsed = signingSecretSchema.safeParse(raw);
        if (!parsed.success) {
          throw new SigningSecretInvalidError(
            `Secret ${secretId} must hold a random string of at least 32 characters`,
          );
        }
        if (derived?.secret !== parsed.data)
          derived = { secret: parsed.data, keys: deriveApiKeys(parsed.data) };
        context.apiKeys = derived.keys;
      },
    },
  ];
};

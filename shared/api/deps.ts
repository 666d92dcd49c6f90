// The real adapters behind the API's ports, built once per container from configuration: DynamoDB stores,
// the Step Functions port, and two secrets fetched (and cached with a TTL) by @middy/secrets-manager:
// MX's `{client_id, api_key}` (shared/lambda/mx.ts) and the API signing secret (OAuth states and
// idempotency ids). Raw secrets are removed from the context once used.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { StopExecutionCommand } from "@aws-sdk/client-sfn";
import type { MiddlewareObj } from "@middy/core";
import secretsManager from "@middy/secrets-manager";
import { getCache } from "@middy/util";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { documentClient, sfnClient } from "../lambda/clients";
import { type MxContext, mxClient, mxSecret } from "../lambda/mx";
import { createStores, type Stores } from "../storage/dynamo";
import { createSfnPort, type SfnPort } from "../sync/sfn";
import { type ApiKeys, deriveApiKeys } from "./oauth-state";

const built = new Map<string, Stores>();

/** The table's stores, one set per table name for the container's life. */
export function stores(tableName: string): Stores {
  let found = built.get(tableName);
  if (!found) {
    found = createStores({ doc: documentClient, tableName });
    built.set(tableName, found);
  }
  return found;
}

const ports = new Map<string, SfnPort>();

export function sfnPort(stateMachineArn: string): SfnPort {
  let port = ports.get(stateMachineArn);
  if (!port) {
    port = createSfnPort(sfnClient, stateMachineArn);
    ports.set(stateMachineArn, port);
  }
  return port;
}

/** Stops a sync execution by name; one that already ended (or never started) is fine. */
export function runStopper(stateMachineArn: string): (syncRun: string) => Promise<void> {
  const executionPrefix = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:`;
  return async (syncRun) => {
    try {
      await sfnClient.send(
        new StopExecutionCommand({
          executionArn: `${executionPrefix}${syncRun}`,
          error: "MemberDeleted",
          cause: "The member was deleted through the API.",
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ExecutionDoesNotExist")) throw error;
    }
  };
}

/** MX's client on `context.mx` (see shared/lambda/mx.ts). */
export const mxMiddlewares = (options: { MX_BASE_URL: string; MX_SECRET_ID: string }): MiddlewareObj[] => [
  mxSecret(options) as MiddlewareObj,
  mxClient(options) as MiddlewareObj,
];

export type KeysContext = Context & { apiKeys: ApiKeys };
export type { MxContext };

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

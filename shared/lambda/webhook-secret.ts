// The MX webhook's basic-auth credentials from Secrets Manager, as the MX secret is read: fetched on the
// first request (not at import), cached for MX_SECRET_TTL_MS so a rotated password is picked up without a
// redeploy, parsed by zod. Never logged; an invalid secret names the secret, not what it holds.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type WebhookCredentials, webhookCredentialsSchema } from "../api/webhooks";
import { MX_SECRET_TTL_MS } from "./mx";

const client = new SecretsManagerClient({});

export class WebhookSecretInvalidError extends Error {
  override name = "WebhookSecretInvalidError";
}

export function webhookCredentials(secretId: string): () => Promise<WebhookCredentials> {
  let cached: { value: WebhookCredentials; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.value;
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    let json: unknown;
    try {
      json = JSON.parse(result.SecretString ?? "");
    } catch {
      json = undefined;
    }
    const parsed = webhookCredentialsSchema.safeParse(json);
    if (!parsed.success) {
      throw new WebhookSecretInvalidError(
        `Secret ${secretId} must hold JSON {"username": "…", "password": "… (16+ characters)"}`,
      );
    }
    cached = { value: parsed.data, until: Date.now() + MX_SECRET_TTL_MS };
    return parsed.data;
  };
}

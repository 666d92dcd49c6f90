// Secrets: the MX API credentials (filled in by the operator after deploy) and the key that signs OAuth
// state. Lambdas receive only the secrets' ARNs; values are fetched at run time and never logged.
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledge, REASONS } from "../nag";

export class Secrets extends Construct {
  /** JSON `{"client_id", "api_key"}` from the MX Client Dashboard. */
  readonly mxCredentials: secretsmanager.Secret;
  /** A random 64-character key (HMAC) signing the OAuth callback's state. */
  readonly oauthStateKey: secretsmanager.Secret;
  /**
   * JSON `{"username", "password"}`: the HTTP basic auth MX sends with its webhooks (generated; copy it
   * into the MX Client Dashboard's webhook settings).
   */
  readonly mxWebhookCredentials: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Created with a placeholder client id and a random, useless api key so that no credential is ever
    // in the template; replace both with `aws secretsmanager put-secret-value` (see README).
    this.mxCredentials = new secretsmanager.Secret(this, "MxCredentials", {
      description:
        'MX Platform API credentials: {"client_id": "...", "api_key": "..."}. Replace the placeholder.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ client_id: "REPLACE_WITH_MX_CLIENT_ID" }),
        generateStringKey: "api_key",
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    this.oauthStateKey = new secretsmanager.Secret(this, "OAuthStateKey", {
      description: "Key signing the MX OAuth callback state (generated; no one needs to read it).",
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    this.mxWebhookCredentials = new secretsmanager.Secret(this, "MxWebhookCredentials", {
      description:
        'Basic auth MX sends with its webhooks: {"username": "mx-webhooks", "password": "..."}. Copy to MX.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: "mx-webhooks" }),
        generateStringKey: "password",
        excludePunctuation: true,
        passwordLength: 40,
      },
    });
    acknowledge(this.mxCredentials, "SMG4", REASONS.mxRotation);
    acknowledge(this.mxWebhookCredentials, "SMG4", REASONS.webhookRotation);
    acknowledge(this.oauthStateKey, "SMG4", REASONS.stateKeyRotation);
  }
}

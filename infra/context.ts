// The deploy options: every CDK context key the app reads (`cdk synth|deploy -c key=value`), once. build.ts
// parses them here, infra/README.md documents each in its table, and test/deploy-options.test.ts
// synthesizes the stack with each one's example (and with all of them together) and checks the README.
import * as z from "zod";

export interface ContextOption {
  readonly name: string;
  /** A representative value: what the test synthesizes with and the README shows. */
  readonly example: string;
  /** What it does, for the README table. */
  readonly doc: string;
  /** Options it applies only with (synth fails without them). */
  readonly requires?: readonly string[];
}

export const CONTEXT_OPTIONS = [
  {
    name: "mxBaseUrl",
    example: "https://api.mx.com",
    doc: "MX Platform API base URL (default the integrations environment, https://int-api.mx.com).",
  },
  {
    name: "customerManagedKey",
    example: "true",
    doc:
      "Encrypt the table with a rotated customer managed KMS key instead of `aws/dynamodb`. DynamoDB's " +
      "per-replica key needs the region at synth: the stack is then pinned to `CDK_DEFAULT_REGION` (the CDK " +
      "CLI sets it from `AWS_REGION` or your profile).",
  },
  {
    name: "redirectAllowList",
    example: "https://app.example.com/connected",
    doc: "Comma-separated URL prefixes an OAuth member's `redirect_url` may start with (default none).",
  },
  {
    name: "transactionPageConcurrency",
    example: "2",
    doc: "The transactions Map's MaxConcurrency, 1–999 (default 4).",
  },
  {
    name: "extendedHistory",
    example: "true",
    doc: "First syncs ask MX for up to 24 months of transactions (a product of your MX contract).",
  },
  {
    name: "sweepEveryHours",
    example: "2",
    doc: "The background refresh's sweep cadence in hours, 1–999 (default 6).",
  },
  {
    name: "changeRetentionDays",
    example: "60",
    doc: "Days the change log keeps entries, so a changes-feed cursor's life, 1–3650 (default 30).",
  },
  {
    name: "corsOrigins",
    example: "https://app.example.com",
    doc: "Comma-separated origins a browser app may call the API from (default none: no CORS).",
  },
  {
    name: "jwtIssuer",
    example: "https://issuer.example.com/",
    doc: "Bring your own identity provider: the JWT issuer the API trusts (with `jwtAudience`; no user pool).",
    requires: ["jwtAudience"],
  },
  {
    name: "jwtAudience",
    example: "client-a,client-b",
    doc: "Comma-separated audiences (client ids) trusted with `jwtIssuer`.",
    requires: ["jwtIssuer"],
  },
  {
    name: "selfSignUp",
    example: "true",
    doc: "Let anyone sign up to the user pool (default off: users are created by an administrator).",
  },
  {
    name: "sesFromEmail",
    example: "no-reply@app.example.com",
    doc:
      "Send the user pool's email through Amazon SES from this verified address (default: Cognito's own " +
      "sender, limited to a few emails a day).",
  },
  {
    name: "sesFromName",
    example: "Example Bank",
    doc: "The sender name beside `sesFromEmail`.",
    requires: ["sesFromEmail"],
  },
  {
    name: "sesRegion",
    example: "us-east-1",
    doc: "The SES identity's region, when not the stack's (with `sesFromEmail`).",
    requires: ["sesFromEmail"],
  },
  {
    name: "authCallbackUrls",
    example: "https://app.example.com/signed-in",
    doc:
      "Comma-separated hosted sign-in callback URLs: turns on the authorization code flow (PKCE, public " +
      "client) with a Cognito domain (`authDomainPrefix`). Default none: SRP sign-in from the app only.",
    requires: ["authDomainPrefix"],
  },
  {
    name: "authLogoutUrls",
    example: "https://app.example.com/signed-out",
    doc: "Comma-separated sign-out URLs for the hosted sign-in (with `authCallbackUrls`).",
    requires: ["authCallbackUrls", "authDomainPrefix"],
  },
  {
    name: "authDomainPrefix",
    example: "example-bank-sign-in",
    doc: "The Cognito domain prefix of the hosted sign-in (required with `authCallbackUrls`).",
    requires: ["authCallbackUrls"],
  },
] as const satisfies readonly ContextOption[];

export type ContextOptionName = (typeof CONTEXT_OPTIONS)[number]["name"];

/** The options that configure the user pool this stack creates (none apply with `jwtIssuer`). */
export const USER_POOL_OPTIONS = [
  "selfSignUp",
  "sesFromEmail",
  "sesFromName",
  "sesRegion",
  "authCallbackUrls",
  "authLogoutUrls",
  "authDomainPrefix",
] as const satisfies readonly ContextOptionName[];

// `cdk -c key=value` gives strings; cdk.json and tests may give booleans and numbers.
const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]);
const whole = (max: number) => z.coerce.number().int().min(1).max(max);
const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    )
    .pipe(z.array(item).min(1));
const httpsUrl = z.url({ protocol: /^https?$/ });

/** What build.ts reads (corsOrigins, jwtIssuer/jwtAudience and changeRetentionDays are read where used). */
const deployContext = z.object({
  mxBaseUrl: httpsUrl.optional(),
  customerManagedKey: flag.optional(),
  redirectAllowList: list(httpsUrl).optional(),
  transactionPageConcurrency: whole(999).optional(),
  extendedHistory: flag.optional(),
  sweepEveryHours: whole(999).optional(),
  selfSignUp: flag.optional(),
  sesFromEmail: z.email().optional(),
  sesFromName: z.string().min(1).optional(),
  sesRegion: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as us-east-1")
    .optional(),
  authCallbackUrls: list(httpsUrl).optional(),
  authLogoutUrls: list(httpsUrl).optional(),
  authDomainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and hyphens")
    .optional(),
  jwtIssuer: z.string().min(1).optional(),
});

export type DeployContext = z.infer<typeof deployContext>;

/** Parses the app's context; a wrong value fails synth naming the option. */
export function parseDeployContext(read: (name: ContextOptionName) => unknown): DeployContext {
  const raw = Object.fromEntries(
    CONTEXT_OPTIONS.map(({ name }) => [name, read(name)]).filter(
      ([, value]) => value !== undefined && value !== "",
    ),
  );
  const parsed = deployContext.safeParse(raw);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new Error(`Context ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}`);
  }
  const context = parsed.data;
  const userPoolOptions = USER_POOL_OPTIONS.filter((name) => context[name] !== undefined);
  if (context.jwtIssuer && userPoolOptions.length > 0)
    throw new Error(
      `Context ${userPoolOptions.join(", ")} configure the stack's own user pool, which jwtIssuer replaces`,
    );
  for (const option of CONTEXT_OPTIONS as readonly ContextOption[]) {
    const missing = (option.requires ?? []).filter((name) => raw[name] === undefined);
    if (raw[option.name] !== undefined && missing.length > 0)
      throw new Error(`Context ${option.name} needs ${missing.join(" and ")} too`);
  }
  return context;
}

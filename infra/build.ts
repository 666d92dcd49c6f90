// Builds the CDK app: used by infra/app.ts (cdk synth / deploy), by the tests and by the local runner.
// Its context (the deploy options) is parsed by infra/context.ts.
import { App, Validations } from "aws-cdk-lib";
import type { UserAuthProps } from "./constructs/auth";
import { type DeployContext, parseDeployContext } from "./context";
import { nagPacks } from "./nag";
import { MxConnectStack, type MxConnectStackProps } from "./stack";

export const STACK_NAME = "MxConnectStack";

export interface BuildAppOptions {
  /** Extra context, e.g. `{"aws:cdk:bundling-stacks": []}` to skip esbuild (tests, local runner). */
  readonly context?: Record<string, unknown>;
  readonly outdir?: string;
  /** Run cdk-nag's packs (nagPacks: AwsSolutions, Serverless) at synth (default true): an unacknowledged finding fails synth. */
  readonly nag?: boolean;
  readonly stack?: MxConnectStackProps;
}

/** Context that makes synth skip bundling (NodejsFunction still checks each entry file exists). */
export const SKIP_BUNDLING = { "aws:cdk:bundling-stacks": [] } as const;

export function buildApp(options: BuildAppOptions = {}): { app: App; stack: MxConnectStack } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    ...(options.context ? { context: options.context } : {}),
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(...nagPacks(app));
  const context = parseDeployContext((name) => app.node.tryGetContext(name));
  const stack = new MxConnectStack(app, STACK_NAME, {
    description: "mx-connect: bank connections through the MX Platform API",
    // Region-agnostic, except that a customer managed table key must name its region (TableV2 renders the
    // key per replica region): the CDK CLI always sets CDK_DEFAULT_REGION (AWS_REGION, profile, us-east-1).
    ...(context.customerManagedKey ? { env: { region: deployRegion() } } : {}),
    ...(context.mxBaseUrl ? { mxBaseUrl: context.mxBaseUrl } : {}),
    customerManagedKey: context.customerManagedKey ?? false,
    extendedHistory: context.extendedHistory ?? false,
    ...(context.redirectAllowList ? { redirectAllowList: context.redirectAllowList } : {}),
    ...(context.transactionPageConcurrency
      ? { workflow: { transactionPageConcurrency: context.transactionPageConcurrency } }
      : {}),
    ...(context.sweepEveryHours ? { sweepEveryHours: context.sweepEveryHours } : {}),
    userAuth: userAuthOf(context),
    ...options.stack,
  });
  return { app, stack };
}

function deployRegion(): string {
  const region = process.env.CDK_DEFAULT_REGION;
  if (!region)
    throw new Error(
      "Context customerManagedKey needs the deployment region at synth: run through the CDK CLI (it sets " +
        "CDK_DEFAULT_REGION from AWS_REGION or your profile) or set CDK_DEFAULT_REGION",
    );
  return region;
}

function userAuthOf(context: DeployContext): UserAuthProps {
  return {
    selfSignUp: context.selfSignUp ?? false,
    ...(context.sesFromEmail
      ? {
          email: {
            fromEmail: context.sesFromEmail,
            ...(context.sesFromName ? { fromName: context.sesFromName } : {}),
            ...(context.sesRegion ? { sesRegion: context.sesRegion } : {}),
          },
        }
      : {}),
    ...(context.authCallbackUrls && context.authDomainPrefix
      ? {
          hostedSignIn: {
            callbackUrls: context.authCallbackUrls,
            logoutUrls: context.authLogoutUrls ?? [],
            domainPrefix: context.authDomainPrefix,
          },
        }
      : {}),
  };
}

// Builds the CDK app: used by infra/app.ts (cdk synth / deploy), by the tests and by the local runner.
import { App, Duration, Validations } from "aws-cdk-lib";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { AwsSolutionsChecks } from "cdk-nag";
import { MxConnectStack, type MxConnectStackProps } from "./stack";

export const STACK_NAME = "MxConnectStack";

export interface BuildAppOptions {
  /** Extra context, e.g. `{"aws:cdk:bundling-stacks": []}` to skip esbuild (tests, local runner). */
  readonly context?: Record<string, unknown>;
  readonly outdir?: string;
  /** Run cdk-nag's AwsSolutions checks at synth (default true): an unacknowledged finding fails synth. */
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
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const mxBaseUrl = context("mxBaseUrl");
  const redirectAllowList = context("redirectAllowList")
    ?.split(",")
    .map((url) => url.trim());
  // `-c transactionPageConcurrency=N`: the transactions Map's MaxConcurrency (default 4); `npm run bench`
  // synthesizes its concurrency-1 baseline with it.
  const concurrencyContext: unknown = app.node.tryGetContext("transactionPageConcurrency");
  const pageConcurrency = concurrencyContext === undefined ? undefined : String(concurrencyContext);
  if (pageConcurrency !== undefined && !/^[1-9][0-9]{0,2}$/.test(pageConcurrency))
    throw new Error("Context transactionPageConcurrency must be an integer from 1 to 999");
  // `-c sweepEveryHours=N`: the background refresh's sweep cadence (default 6).
  const sweepContext: unknown = app.node.tryGetContext("sweepEveryHours");
  const sweepHours = sweepContext === undefined ? undefined : String(sweepContext);
  if (sweepHours !== undefined && !/^[1-9][0-9]{0,2}$/.test(sweepHours))
    throw new Error("Context sweepEveryHours must be an integer from 1 to 999");
  const stack = new MxConnectStack(app, STACK_NAME, {
    description: "mx-connect: bank connections through the MX Platform API",
    ...(mxBaseUrl ? { mxBaseUrl } : {}),
    customerManagedKey: context("customerManagedKey") === "true",
    // `-c extendedHistory=true`: the first sync asks MX for up to 24 months (a product of the MX contract).
    extendedHistory: [true, "true"].includes(app.node.tryGetContext("extendedHistory")),
    ...(redirectAllowList ? { redirectAllowList } : {}),
    ...(pageConcurrency ? { workflow: { transactionPageConcurrency: Number(pageConcurrency) } } : {}),
    ...(sweepHours
      ? { sweepSchedule: scheduler.ScheduleExpression.rate(Duration.hours(Number(sweepHours))) }
      : {}),
    ...options.stack,
  });
  return { app, stack };
}

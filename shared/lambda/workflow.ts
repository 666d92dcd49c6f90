// The middleware chain of the sync workflow's task Lambdas. A thrown error's `name` becomes the Step
// Functions error name, which the state machine's Retry and Catch rules match: transient MX failures must
// reach it under one of TRANSIENT_MX_ERRORS (shared/sync/contract.ts).
import middy, { type MiddlewareObj, type MiddyfiedHandler } from "@middy/core";
import type { Context } from "aws-lambda";
import { withMxCallCount } from "../history/mx-calls";
import { isTransientMxError, MxUnavailableError } from "../mx/errors";
import { logger, loggerContext, workflowCorrelation } from "./logger";
import { type MxClientOptions, mxClient, mxSecret } from "./mx";
import { addRunMxCalls } from "./run-mx-calls";

/**
 * Normalises a task's error for Step Functions: a refused or reset connection to MX is retried like a 5xx
 * (the state machine knows three transient names, not four); logs the failure once, without payloads.
 */
export const workflowErrors = (): MiddlewareObj => ({
  onError: (request) => {
    const error = request.error;
    if (!error) return;
    if (error.name === "MxNetworkError") {
      const { method, path } = error as unknown as { method: string; path: string };
      request.error = new MxUnavailableError(error.message, { method, path, cause: error });
    }
    const transient = isTransientMxError(request.error);
    logger[transient ? "warn" : "error"]("Task failed", {
      error: { name: request.error?.name, message: request.error?.message },
    });
  },
});

/** A sync task that does not call MX: logging, correlation ids, error naming. */
export const workflowTask = () =>
  middy().use(loggerContext()).use(workflowCorrelation()).use(workflowErrors());

/** A sync task that calls MX: the same, plus `context.mx` built from the MX secret. */
export const mxWorkflowTask = (options: MxClientOptions) =>
  workflowTask().use(mxSecret(options)).use(mxClient(options));

/** What Lambda (and the local runner) calls: any event, a plain Lambda context. */
export type LambdaEntry<TResult> = (event: unknown, context: Context) => Promise<TResult>;

/**
 * Exposes a middy chain as a plain Lambda entry. Inside, the context's type grows with each middleware
 * (`context.mx`); callers pass a plain Lambda context and the middlewares add the rest at run time.
 */
export function lambdaEntry<
  TEvent,
  TResult,
  TContext extends Context,
  TInternal extends Record<string, unknown>,
>(handler: MiddyfiedHandler<TEvent, TResult, Error, TContext, TInternal>): LambdaEntry<TResult> {
  const entry = handler as unknown as LambdaEntry<TResult>;
  // The MX requests of a sync task go to its run's count (shared/history/mx-calls.ts).
  return (event, context) =>
    withMxCallCount(
      () => entry(event, context),
      (calls) => addRunMxCalls(event, calls),
    );
}

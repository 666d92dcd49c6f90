// A Lambda-like invocation context for handlers called in-process (the local API server, the local
// workflow runner, tests): the fields Lambda sets, with a real deadline behind getRemainingTimeInMillis.
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { FUNCTION_DEFAULTS } from "../infra/function-defaults";

export const LOCAL_ACCOUNT_ID = "000000000000";

export function createLambdaContext(options: {
  functionName: string;
  timeoutMs: number;
  /** Defaults to a local ARN built from the function name. */
  invokedFunctionArn?: string;
  region?: string;
  /** Defaults to every function's deployed default (512). */
  memoryLimitInMB?: number;
}): Context {
  const deadline = Date.now() + options.timeoutMs;
  const region = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  const awsRequestId = randomUUID();
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  // Callback-era completion: handlers here return promises, so a call to these is a bug to surface.
  const unsupported = () => {
    throw new Error("Callback-style completion is not supported: return a value or a promise");
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: options.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn:
      options.invokedFunctionArn ??
      `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? FUNCTION_DEFAULTS.memorySize),
    awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${day}/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

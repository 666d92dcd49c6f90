// A Lambda-like invocation context for handlers called in-process (local API server).
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export const LOCAL_ACCOUNT_ID = "000000000000";

export function createLambdaContext(options: {
  functionName: string;
  timeoutMs: number;
  region?: string;
  memoryLimitInMB?: number;
}): Context {
  const deadline = Date.now() + options.timeoutMs;
  const region = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  const awsRequestId = randomUUID();
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 256),
    awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${day}/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // Deprecated callback-era methods: handlers here return promises, so these are inert.
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

// Calling a handler module in-process the way Lambda would: a Lambda-like context, the JSON round trip
// of the event and the result, and a thrown error reported as Lambda reports it (errorType = the
// error's `name`, which Step Functions uses as the error name that Retry and Catch match), and, when asked,
// a crash injected between an invocation's reads and its first DynamoDB write (which the DynamoDB fault proxy
// then drops: see sentByCrashedInvocation).
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { subscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import type { Context } from "aws-lambda";
import { createLambdaContext } from "../lambda-context";

/** A Lambda handler as the modules in functions/ export it (middy-wrapped, async). */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown> | unknown;

/** One function the runner can invoke. */
export interface LambdaTarget {
  /** The (fake) function ARN the state machine definition names. */
  readonly arn: string;
  readonly functionName: string;
  /** The function's own timeout (its Lambda Timeout, default 3 s in Lambda; here as configured). */
  readonly timeoutSeconds: number;
  readonly memorySize?: number;
  /** Loads the handler (lazily: modules read their config at import time). */
  readonly load: () => Promise<LambdaHandler>;
}

/**
 * Crashes to inject (fault tests): an invocation chosen by `crashAtFirstWrite` dies as its process would
 * when it sends its first DynamoDB write (after its MX reads): the invocation fails with `Lambda.Unknown`
 * (Step Functions' name for an unhandled Lambda error: a runtime exit, out of memory), and that write and
 * every later DynamoDB request of the invocation never land, provided the function reaches DynamoDB through
 * the fault proxy (`startDynamo({ faults })`; with `startLocalStack`, give `faults.dynamo` too, all rates 0
 * when only crashes are wanted).
 */
export interface LambdaFaults {
  crashAtFirstWrite(target: LambdaTarget, event: unknown): boolean;
  /** Told of each crash when it happens. */
  onCrash?(target: LambdaTarget, event: unknown): void;
}

/** The DynamoDB operations that write (`X-Amz-Target: DynamoDB_20120810.<operation>`). */
const DYNAMODB_WRITES = new Set([
  "BatchWriteItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "TransactWriteItems",
]);

/** The invocation whose handler is running, for the HTTP requests it sends (crash injection only). */
interface CrashingInvocation {
  crashed: boolean;
  crash(): void;
}
const invocationScope = new AsyncLocalStorage<CrashingInvocation>();
let watchingRequests = false;

/**
 * Connections (by their local port) that carried a crashed invocation's request. Node announces a request
 * once its bytes are handed to the socket, too late to hold them back here: the DynamoDB fault proxy
 * (local/dynamo.ts) asks, and drops such a request unread, so a crashed invocation's write never lands.
 */
const crashedConnections = new Set<number>();

/** True (once) when a request arriving from `remotePort` was sent by a crashed invocation. */
export function sentByCrashedInvocation(remotePort: number | undefined): boolean {
  return remotePort !== undefined && crashedConnections.delete(remotePort);
}

/** Node publishes every outgoing HTTP request in the caller's async context: the crash point is there. */
function watchRequests(): void {
  if (watchingRequests) return;
  watchingRequests = true;
  subscribe("http.client.request.start", (message) => {
    const invocation = invocationScope.getStore();
    if (!invocation) return;
    const { request } = message as { request: ClientRequest };
    const target = String(request.getHeader("x-amz-target") ?? "");
    const operation = target.startsWith("DynamoDB_") ? target.slice(target.indexOf(".") + 1) : "";
    if (!invocation.crashed && DYNAMODB_WRITES.has(operation)) invocation.crash();
    if (!invocation.crashed) return;
    // Not connected yet: nothing was sent, and destroying the request keeps it so.
    const port = request.socket?.localPort;
    if (port !== undefined) crashedConnections.add(port);
    request.destroy(new Error("The function's process exited"));
  });
}

/** A failed invocation, shaped as Step Functions sees it: `Error` = errorType, `Cause` = the JSON error. */
export class LambdaFunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(JSON.stringify({ errorType, errorMessage }));
    // The Step Functions error name: what a Retry/Catch `ErrorEquals` matches.
    this.name = errorType;
  }
}

/** Step Functions' payload limit for state input and output (256 KB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * A terminal failure: aws-local-stepfunctions neither retries nor catches an error whose
 * `isRetryable`/`isCatchable` are false, as AWS treats States.DataLimitExceeded and States.Runtime.
 */
export class TerminalStatesError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function errorTypeOf(error: unknown): { errorType: string; errorMessage: string } {
  if (error instanceof Error) return { errorType: error.name || "Error", errorMessage: error.message };
  return { errorType: "Error", errorMessage: String(error) };
}

/** JSON round trip, as the event and result cross Lambda's API; rejects what is too big for a state. */
function serialize(value: unknown, what: string): string {
  const json = JSON.stringify(value ?? null);
  if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) {
    throw new TerminalStatesError(
      "States.DataLimitExceeded",
      `The ${what} is ${Buffer.byteLength(json)} bytes, over Step Functions' ${MAX_PAYLOAD_BYTES}-byte limit`,
    );
  }
  return json;
}

/**
 * Invokes the target with `payload` and returns its result (as JSON would carry it). A thrown error
 * becomes a LambdaFunctionError named after the thrown error; running past the function's timeout
 * becomes `Sandbox.Timedout`, as Lambda reports it.
 */
export async function invokeLambda(
  target: LambdaTarget,
  payload: unknown,
  faults?: LambdaFaults,
): Promise<unknown> {
  const event: unknown = JSON.parse(serialize(payload, `input of ${target.functionName}`));
  const handler = await target.load();
  const timeoutMs = target.timeoutSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  let crashNow: () => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    crashNow = () => {
      const requestId = randomUUID();
      reject(
        new LambdaFunctionError(
          "Lambda.Unknown",
          `The cause could not be determined because Lambda did not return an error type. Returned payload: ${JSON.stringify(
            {
              errorType: "Runtime.ExitError",
              errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
            },
          )}`,
        ),
      );
    };
  });
  const invocation: CrashingInvocation | undefined = faults?.crashAtFirstWrite(target, event)
    ? {
        crashed: false,
        crash() {
          this.crashed = true;
          faults.onCrash?.(target, event);
          crashNow();
        },
      }
    : undefined;
  if (invocation) watchRequests();
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LambdaFunctionError(
            "Sandbox.Timedout",
            `Task timed out after ${target.timeoutSeconds.toFixed(2)} seconds`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    const run = () =>
      Promise.resolve().then(() =>
        handler(
          event,
          createLambdaContext({
            functionName: target.functionName,
            invokedFunctionArn: target.arn,
            timeoutMs,
            ...(target.memorySize ? { memoryLimitInMB: target.memorySize } : {}),
          }),
        ),
      );
    const result = await Promise.race([
      invocation ? invocationScope.run(invocation, run) : run(),
      timedOut,
      crashed,
    ]);
    return JSON.parse(serialize(result, `result of ${target.functionName}`));
  } catch (error) {
    if (error instanceof LambdaFunctionError || error instanceof TerminalStatesError) throw error;
    const { errorType, errorMessage } = errorTypeOf(error);
    throw new LambdaFunctionError(errorType, errorMessage);
  } finally {
    clearTimeout(timer);
  }
}

/** The `arn:aws:states:::lambda:invoke` result: the payload wrapped as the Lambda Invoke API returns it. */
export function invokeEnvelope(payload: unknown): Record<string, unknown> {
  const requestId = randomUUID();
  return {
    ExecutedVersion: "$LATEST",
    Payload: payload ?? null,
    SdkHttpMetadata: {
      AllHttpHeaders: { "X-Amz-Executed-Version": ["$LATEST"], "x-amzn-RequestId": [requestId] },
      HttpHeaders: { "X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": requestId },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

// A local AWS endpoint on 127.0.0.1 speaking the AWS JSON protocol, so the real SDK clients reach it
// through the SDK's standard AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_SECRETS_MANAGER variables:
//  - Step Functions (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`): StartExecution,
//    DescribeExecution, StopExecution, ListExecutions, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat
//    (answers whether the task still waits on the token), backed by the
//    local workflow runner;
//  - Secrets Manager (JSON 1.1, `X-Amz-Target: secretsmanager.GetSecretValue`): an in-memory map;
//  - EventBridge (JSON 1.1, `AWSEvents.PutEvents`): local/aws/events.ts;
//  - SQS (JSON 1.0, `AmazonSQS.SendMessage(Batch)`) with a Lambda event-source emulation: local/aws/sqs.ts.
// Requests are not authenticated (signatures are ignored): it listens on loopback only.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as z from "zod";
import { AwsApiError, type LocalStepFunctions } from "../workflow/executions";
import { type LocalEventBridge, localEventBridge } from "./events";
import { createLocalSqs, type LocalSqs } from "./sqs";

export interface LocalAwsOptions {
  /** Serves the Step Functions operations (omit to answer them with an error). */
  stepFunctions?: LocalStepFunctions;
  /** Initial secrets: name → SecretString. */
  secrets?: Record<string, string>;
  region?: string;
  accountId?: string;
  /** Multiplies SQS DelaySeconds and visibility timeouts (default 1). */
  sqsDelayScale?: number;
}

export interface LocalAws {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** The variables that point the AWS SDK here. */
  env: Record<string, string>;
  /** Adds or replaces a secret; returns its ARN (GetSecretValue accepts the name or the ARN). */
  putSecret(name: string, secretString: string): string;
  /** Attaches the Step Functions backend (when it is created after the endpoint). */
  attachStepFunctions(stepFunctions: LocalStepFunctions): void;
  /** How many GetSecretValue calls were served (found or not): tests check what a request fetched. */
  secretReads(): number;
  /** A secret's value by name or ARN, read in-process (not counted): for tests that sign with the key. */
  readSecret(idOrArn: string): string | undefined;
  /** The local SQS queues and their event-source emulation. */
  sqs: LocalSqs;
  /** EventBridge PutEvents on the stack's bus (local/aws/events.ts): what was published. */
  events: LocalEventBridge;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

// Request shapes (only the fields used; the SDK sends exactly these names).
const requests = {
  StartExecution: z.object({
    stateMachineArn: z.string(),
    name: z.string().optional(),
    input: z.string().optional(),
  }),
  DescribeExecution: z.object({ executionArn: z.string() }),
  StopExecution: z.object({
    executionArn: z.string(),
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  ListExecutions: z.object({
    stateMachineArn: z.string(),
    statusFilter: z.enum(["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]).optional(),
    maxResults: z.number().int().min(0).max(1000).optional(),
    nextToken: z.string().optional(),
  }),
  SendTaskSuccess: z.object({ taskToken: z.string().min(1).max(2048), output: z.string() }),
  SendTaskFailure: z.object({
    taskToken: z.string().min(1).max(2048),
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  SendTaskHeartbeat: z.object({ taskToken: z.string().min(1).max(2048) }),
  GetSecretValue: z.object({ SecretId: z.string().min(1).max(2048) }),
};

/** AWS JSON timestamps are epoch seconds. */
const epochSeconds = (date: Date) => date.getTime() / 1000;

function datesToEpoch(value: unknown): unknown {
  if (value instanceof Date) return epochSeconds(value);
  if (Array.isArray(value)) return value.map(datesToEpoch);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, datesToEpoch(child)]));
  }
  return value;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AwsApiError("ValidationException", "Request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "000000000000";
  let stepFunctions = options.stepFunctions;
  const secrets = new Map<
    string,
    { arn: string; name: string; value: string; versionId: string; created: Date }
  >();

  const putSecret = (name: string, value: string) => {
    // AWS appends six random characters to a secret's ARN.
    const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomUUID().slice(0, 6)}`;
    secrets.set(name, { arn, name, value, versionId: randomUUID(), created: new Date() });
    return arn;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) putSecret(name, value);
  const findSecret = (idOrArn: string) =>
    secrets.get(idOrArn) ?? [...secrets.values()].find((s) => s.arn === idOrArn);
  let secretReads = 0;

  let endpoint = "";
  const sqs = createLocalSqs({
    endpoint: () => endpoint,
    region,
    accountId,
    ...(options.sqsDelayScale === undefined ? {} : { delayScale: options.sqsDelayScale }),
  });

  const sfn = (): LocalStepFunctions => {
    if (!stepFunctions) throw new AwsApiError("ServiceUnavailable", "No local Step Functions attached");
    return stepFunctions;
  };

  const events = localEventBridge(region, accountId);

  const operations: Record<string, (body: unknown) => unknown> = {
    ...sqs.operations,
    "AWSEvents.PutEvents": (body) => events.putEvents(body, parse),
    "AWSStepFunctions.StartExecution": (body) => sfn().startExecution(parse(requests.StartExecution, body)),
    "AWSStepFunctions.DescribeExecution": (body) =>
      sfn().describeExecution(parse(requests.DescribeExecution, body)),
    "AWSStepFunctions.StopExecution": (body) => sfn().stopExecution(parse(requests.StopExecution, body)),
    "AWSStepFunctions.ListExecutions": (body) => sfn().listExecutions(parse(requests.ListExecutions, body)),
    "AWSStepFunctions.SendTaskSuccess": (body) =>
      sfn().sendTaskSuccess(parse(requests.SendTaskSuccess, body)),
    "AWSStepFunctions.SendTaskFailure": (body) =>
      sfn().sendTaskFailure(parse(requests.SendTaskFailure, body)),
    "AWSStepFunctions.SendTaskHeartbeat": (body) => {
      const { taskToken } = parse(requests.SendTaskHeartbeat, body);
      // Nothing to reset (no HeartbeatSeconds here): only whether the task still waits, as AWS answers it.
      if (
        !sfn()
          .pendingTaskTokens()
          .some((pending) => pending.taskToken === taskToken)
      ) {
        throw new AwsApiError("TaskDoesNotExist", "Task Does Not Exist");
      }
      return {};
    },
    "secretsmanager.GetSecretValue": (body) => {
      secretReads += 1;
      const { SecretId } = parse(requests.GetSecretValue, body);
      const secret = findSecret(SecretId);
      if (!secret) {
        throw new AwsApiError(
          "ResourceNotFoundException",
          "Secrets Manager can't find the specified secret.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        SecretString: secret.value,
        VersionId: secret.versionId,
        VersionStages: ["AWSCURRENT"],
        CreatedDate: secret.created,
      };
    },
  };

  const respond = (
    response: ServerResponse,
    status: number,
    contentType: string,
    body: unknown,
    errorType?: string,
  ) => {
    const text = JSON.stringify(datesToEpoch(body));
    response.writeHead(status, {
      "content-type": contentType,
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": randomUUID(),
      ...(errorType ? { "x-amzn-errortype": errorType } : {}),
    });
    response.end(text);
  };

  const server = createServer(async (request, response) => {
    const target = String(request.headers["x-amz-target"] ?? "");
    const contentType =
      target.startsWith("secretsmanager.") || target.startsWith("AWSEvents.")
        ? "application/x-amz-json-1.1"
        : "application/x-amz-json-1.0";
    try {
      const operation = request.method === "POST" ? operations[target] : undefined;
      if (!operation)
        throw new AwsApiError("UnknownOperationException", `Unsupported operation: ${target || "(none)"}`);
      const text = await readBody(request);
      let body: unknown;
      try {
        body = text === "" ? {} : JSON.parse(text);
      } catch {
        throw new AwsApiError("SerializationException", "The request body is not JSON");
      }
      respond(response, 200, contentType, operation(body) ?? {});
    } catch (error) {
      if (error instanceof AwsApiError) {
        respond(response, 400, contentType, { __type: error.type, message: error.message }, error.type);
      } else {
        respond(
          response,
          500,
          contentType,
          { __type: "InternalFailure", message: "Internal error" },
          "InternalFailure",
        );
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_SFN: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      // The bus lives here, so its name comes from here (the deployed stack sets its own).
      EVENT_BUS_NAME: events.busName,
    },
    putSecret,
    attachStepFunctions: (backend) => {
      stepFunctions = backend;
    },
    secretReads: () => secretReads,
    readSecret: (idOrArn) => findSecret(idOrArn)?.value,
    events,
    sqs,
    close: () =>
      new Promise<void>((resolve) => {
        sqs.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AwsApiError(
      "ValidationException",
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

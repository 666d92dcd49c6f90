// The world the Connect API's handler tests run in: the MX sandbox over HTTP and dynalite (both real, on
// ephemeral loopback ports), the real handler modules invoked in-process with API Gateway HTTP API v2
// events, and aws-sdk-client-mock standing in for Secrets Manager and Step Functions (whose starts are
// recorded, with ExecutionAlreadyExists on a reused name as the real service answers).
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { apiRoutes } from "../infra/api/routes";
import { type LocalDynamo, startDynamo } from "../local/dynamo";
import { createLambdaContext } from "../local/lambda-context";
import { type Sandbox, type SandboxOptions, startSandbox } from "../local/sandbox/index";

export const MX_SECRET_ID = "test/mx";
export const SIGNING_SECRET_ID = "test/api-signing";
export const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mx-connect-sync";
export const API_BASE_URL = "https://api.example.test";
export const APP_URL = "https://app.example.test/connected";

export interface Started {
  name: string;
  input: Record<string, unknown>;
}

export interface CallOptions {
  /** The JWT `sub`; `null` sends no authorizer context at all. */
  sub?: string | null;
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** Sent as JSON unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: test helper returning arbitrary JSON for assertions
  body: any;
  text: string;
}

export interface ApiWorld {
  sandbox: Sandbox;
  dynamo: LocalDynamo;
  signingSecret: string;
  /** Every StartExecution the handlers made (including refused duplicates' first start only). */
  started: Started[];
  taskSuccesses: { taskToken: string; output: unknown }[];
  /** Execution ARNs the handlers stopped. */
  stopped: string[];
  /** How many times a handler fetched a secret from (mocked) Secrets Manager. */
  secretFetches(): number;
  call(routeId: string, options?: CallOptions): Promise<CallResult>;
  close(): Promise<void>;
}

type Handler = (
  event: APIGatewayProxyEventV2,
  context: unknown,
) => Promise<APIGatewayProxyStructuredResultV2>;

export async function startApiWorld(sandboxOptions: SandboxOptions = {}): Promise<ApiWorld> {
  const [sandbox, dynamo] = await Promise.all([
    startSandbox({ aggregationMs: 40, ...sandboxOptions }),
    startDynamo({ tableName: `api-test-${randomUUID()}` }),
  ]);
  const signingSecret = randomBytes(32).toString("base64url");

  // The handlers read these once, at import: set them first.
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    TABLE_NAME: dynamo.tableName,
    MX_BASE_URL: sandbox.url,
    MX_SECRET_ID,
    OAUTH_STATE_SECRET_ID: SIGNING_SECRET_ID,
    STATE_MACHINE_ARN,
    API_BASE_URL,
    REDIRECT_ALLOW_LIST: "https://app.example.test/connected,myapp://oauth",
    LOG_LEVEL: "SILENT",
  });

  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand, { SecretId: MX_SECRET_ID }).resolves({
    SecretString: JSON.stringify({ client_id: sandbox.clientId, api_key: sandbox.apiKey }),
  });
  secrets
    .on(GetSecretValueCommand, { SecretId: SIGNING_SECRET_ID })
    .resolves({ SecretString: signingSecret });

  const started: Started[] = [];
  const taskSuccesses: ApiWorld["taskSuccesses"] = [];
  const sfn = mockClient(SFNClient);
  sfn.on(StartExecutionCommand).callsFake((input: { name?: string; input?: string }) => {
    const name = input.name ?? "";
    if (started.some((run) => run.name === name)) {
      throw Object.assign(new Error(`Execution already exists: ${name}`), { name: "ExecutionAlreadyExists" });
    }
    started.push({ name, input: JSON.parse(input.input ?? "{}") as Record<string, unknown> });
    return { executionArn: `${STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")}:${name}` };
  });
  sfn.on(SendTaskSuccessCommand).callsFake((input: { taskToken?: string; output?: string }) => {
    taskSuccesses.push({ taskToken: input.taskToken ?? "", output: JSON.parse(input.output ?? "null") });
    return {};
  });
  sfn.on(SendTaskFailureCommand).resolves({});
  const stopped: string[] = [];
  sfn.on(StopExecutionCommand).callsFake((input: { executionArn?: string }) => {
    stopped.push(input.executionArn ?? "");
    return {};
  });

  const handlers = new Map<string, Handler>();
  async function handlerFor(routeId: string): Promise<Handler> {
    const known = handlers.get(routeId);
    if (known) return known;
    const route = apiRoutes.find((r) => r.id === routeId);
    if (!route) throw new Error(`no route ${routeId}`);
    const file = pathToFileURL(fileURLToPath(new URL(`../${route.entry}`, import.meta.url))).href;
    const mod = (await import(/* @vite-ignore */ file)) as { handler: Handler };
    handlers.set(routeId, mod.handler);
    return mod.handler;
  }

  return {
    sandbox,
    dynamo,
    signingSecret,
    started,
    taskSuccesses,
    stopped,
    secretFetches: () => secrets.commandCalls(GetSecretValueCommand).length,
    async call(routeId, options = {}) {
      const route = apiRoutes.find((r) => r.id === routeId);
      if (!route) throw new Error(`no route ${routeId}`);
      const handler = await handlerFor(routeId);
      const result = await handler(apiEvent(route.method, route.path, options), lambdaContext(routeId));
      const text = typeof result.body === "string" ? result.body : "";
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const headers = Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
      );
      return { status: result.statusCode ?? 200, headers, body, text };
    },
    async close() {
      secrets.restore();
      sfn.restore();
      await Promise.all([sandbox.close(), dynamo.close()]);
    },
  };
}

const lambdaContext = (routeId: string) =>
  createLambdaContext({ functionName: `api-${routeId}`, timeoutMs: 30_000 });

/** An API Gateway HTTP API payload 2.0 event, as the JWT-authorized route would receive it. */
export function apiEvent(
  method: string,
  pathTemplate: string,
  options: CallOptions = {},
): APIGatewayProxyEventV2 {
  const params = options.params ?? {};
  const rawPath = pathTemplate.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ""),
  );
  const query = options.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    host: "api.example.test",
    ...(body !== undefined ? { "content-type": "application/json" } : {}),
    ...options.headers,
  };
  const sub = options.sub === undefined ? "user-default" : options.sub;
  const event = {
    version: "2.0",
    routeKey: `${method} ${pathTemplate}`,
    rawPath,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.test",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: randomUUID(),
      routeKey: `${method} ${pathTemplate}`,
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(sub === null
        ? {}
        : {
            authorizer: {
              principalId: "",
              integrationLatency: 0,
              jwt: { claims: { sub, iss: "https://issuer.example.test" }, scopes: null },
            },
          }),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
  return event as unknown as APIGatewayProxyEventV2;
}

export const newUser = () => `user-${randomUUID()}`;

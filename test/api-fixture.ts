// The world the Connect API's handler tests run in: the embedded stack (local/stack.ts) — the MX sandbox
// over HTTP, dynalite, the local AWS endpoint (Step Functions + Secrets Manager, reached by the real SDK
// through AWS_ENDPOINT_URL_*) and the synthesized sync state machine run with the real handlers — plus the
// API's handler modules invoked in-process with API Gateway HTTP API v2 events. Nothing is mocked: what the
// fixture reports (executions started or stopped, secrets fetched) is read back from those services.
import { randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { pollUntil } from "../local/client";
import type { LocalDynamo } from "../local/dynamo";
import { createLambdaContext } from "../local/lambda-context";
import {
  MXBANK_PASSWORD_GUID,
  MXBANK_USERNAME_GUID,
  type Sandbox,
  type SandboxOptions,
  TEST_USERNAME,
} from "../local/sandbox/index";
import { type LocalStack, startLocalStack } from "../local/stack";
import { apiRoutes } from "../shared/api/routes";
import type { MemberView } from "../shared/api/schemas";
import type { SyncStatus } from "../shared/domain/connection";
import { ENDED_SYNC_STATUSES } from "../shared/domain/sync";

export const API_BASE_URL = "https://api.example.test";
export const APP_URL = "https://app.example.test/connected";

/** The statuses a sync run ends in: waiting on them fails fast with the real outcome. */
export const ENDED: readonly SyncStatus[] = ENDED_SYNC_STATUSES;

/** The sandbox's mxbank credentials with `password`, which picks the outcome ("challenge": MFA, …). */
export const mxbankCredentials = (password: string) => [
  { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
  { guid: MXBANK_PASSWORD_GUID, value: password },
];

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
  stack: LocalStack;
  sandbox: Sandbox;
  dynamo: LocalDynamo;
  /** The OAuth-state signing key, as stored in the local Secrets Manager (OAUTH_STATE_SECRET_ID). */
  signingSecret: string;
  /** Every execution of the sync state machine, oldest first (Step Functions' own list). */
  readonly started: Started[];
  /** Execution ARNs of the sync state machine that were stopped (ABORTED). */
  readonly stopped: string[];
  /** How many GetSecretValue calls the local Secrets Manager served. */
  secretFetches(): number;
  /** The ARN of the sync execution of that name. */
  executionArn(name: string): string;
  call(routeId: string, options?: CallOptions): Promise<CallResult>;
  /** Polls GET /v1/members/{guid} until its sync status is one of `statuses`; bounded by a poll count. */
  waitForSync(sub: string, memberGuid: string, statuses: readonly SyncStatus[]): Promise<MemberView>;
  close(): Promise<void>;
}

type Handler = (
  event: APIGatewayProxyEventV2,
  context: unknown,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Polls of waitForSync; with the scaled-down waits a sync takes a fraction of a second. */
const MAX_POLLS = 400;
const POLL_MS = 25;

export async function startApiWorld(sandboxOptions: SandboxOptions = {}): Promise<ApiWorld> {
  // The handlers read their environment once, at import: the stack sets it before any of them loads.
  const stack = await startLocalStack({
    sandbox: { aggregationMs: 30, ...sandboxOptions },
    // Wait states and retries a fraction of their deployed length; MFA windows stay real (nobody waits).
    waitScale: 0.002,
    env: {
      API_BASE_URL,
      REDIRECT_ALLOW_LIST: "https://app.example.test/connected,myapp://oauth",
    },
  });
  const { sandbox } = stack;
  if (!sandbox) throw new Error("startApiWorld: the embedded stack runs without the MX sandbox");
  const signingSecret = stack.aws.readSecret(stack.env.OAUTH_STATE_SECRET_ID ?? "");
  if (!signingSecret) throw new Error("startApiWorld: no OAuth state secret in the local Secrets Manager");

  const sfn = stack.workflow.stepFunctions;
  const stateMachineArn = stack.workflow.stateMachineArn;
  /** Every execution of the sync machine with the given status (all pages), oldest first. */
  const executions = (statusFilter?: "ABORTED") => {
    const all: ReturnType<typeof sfn.listExecutions>["executions"] = [];
    let nextToken: string | undefined;
    do {
      const page = sfn.listExecutions({
        stateMachineArn,
        maxResults: 1000,
        ...(statusFilter ? { statusFilter } : {}),
        ...(nextToken ? { nextToken } : {}),
      });
      all.push(...page.executions);
      nextToken = page.nextToken;
    } while (nextToken);
    // The service lists newest first; a stable sort keeps same-millisecond starts in the order they came.
    return all.sort((a, b) => a.startDate.getTime() - b.startDate.getTime());
  };

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

  const call: ApiWorld["call"] = async (routeId, options = {}) => {
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
  };

  return {
    stack,
    sandbox,
    dynamo: stack.dynamo,
    signingSecret,
    get started() {
      return executions().map(({ executionArn, name }) => ({
        name,
        input: JSON.parse(sfn.describeExecution({ executionArn }).input) as Record<string, unknown>,
      }));
    },
    get stopped() {
      return executions("ABORTED").map((e) => e.executionArn);
    },
    secretFetches: () => stack.aws.secretReads(),
    executionArn: (name) => `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`,
    call,
    waitForSync: (sub, memberGuid, statuses) =>
      // The client's poll loop, reading the member through the handler instead of over HTTP.
      pollUntil(
        async () => {
          const res = await call("GetMember", { sub, params: { member_guid: memberGuid } });
          if (res.status !== 200) throw new Error(`GetMember ${memberGuid}: ${res.status} ${res.text}`);
          return res.body.member as MemberView;
        },
        (member) => statuses.includes(member.sync.status),
        {
          pollMs: POLL_MS,
          maxPolls: MAX_POLLS,
          what: `member ${memberGuid}`,
          describe: (member) => JSON.stringify(member),
        },
      ),
    close: () => stack.close(),
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

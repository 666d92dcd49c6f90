// The embedded stack: everything the Lambdas talk to, on this machine. The MX sandbox (or real MX when
// MX_BASE_URL, MX_CLIENT_ID and MX_API_KEY are set), dynalite as DynamoDB, a local AWS endpoint
// (Step Functions + Secrets Manager) and the local workflow runner executing the synthesized state
// machines with the real handler modules in-process, and SQS with the background refresh's consumer. Handlers run unchanged: the stack only sets the
// environment they read in AWS (plus the SDK's standard endpoint variables), before any of them loads.
import "./polyfills";
import { randomBytes } from "node:crypto";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { MEMBER_PURGE } from "../shared/members/settings";
import { createMxClient, type MxClient, type MxClientOptions } from "../shared/mx/client";
import { BACKGROUND_REFRESH } from "../shared/refresh/settings";
import { createStores, type Stores } from "../shared/storage/dynamo";
import { type LocalAws, startLocalAws } from "./aws";
import type { SqsHandler } from "./aws/sqs";
import {
  bankSecretNeedles,
  captureNeedles,
  captureProcessOutput,
  captureStack,
  secretNeedle,
} from "./capture";
import { createTable, type DynamoFaults, type LocalDynamo, startDynamo } from "./dynamo";
import { createLambdaContext } from "./lambda-context";
import { type Sandbox, type SandboxOptions, startSandbox } from "./sandbox";
import { type ExecutionResult, type LambdaFaults, type LocalWorkflow, loadLocalWorkflow } from "./workflow";
import type { Json, JsonObject } from "./workflow/asl";
import type { LocalStepFunctions } from "./workflow/executions";

export interface LocalStackOptions {
  /** MX sandbox knobs (ignored when real MX is configured). */
  sandbox?: SandboxOptions;
  /**
   * Multiplies the workflow's waits (Wait states, Retry intervals). Default 0.05: the first poll after
   * 0.15 s instead of 3 s. The handlers' own clocks (poll phase limit, backoff growth) stay real.
   */
  waitScale?: number;
  /** Multiplies waitForTaskToken timeouts (the MFA answer window). Default 1: people type in real time. */
  taskTokenTimeoutScale?: number;
  /** Extra environment for the handlers; wins over the stack's values. */
  env?: Record<string, string>;
  /**
   * Where the sandbox sends its webhooks (the local API's `/v1/mx/webhooks`), with the webhook secret's
   * basic auth. Without it webhooks are only recorded (`sandbox.webhooks()`).
   */
  webhookUrl?: string;
  /** Multiplies SQS DelaySeconds and visibility timeouts. Default 0.001: the sweep's 900 s stagger in 0.9 s. */
  sqsDelayScale?: number;
  /**
   * The member purge's working time per invocation, before its reserve (default: its Lambda timeout's):
   * a small one makes a big member's purge resume many times, as a long one would in AWS.
   */
  purgeBudgetMs?: number;
  /** Retry timing of the stack's own MX client (`mx`); the handlers' clients keep their defaults. */
  mxRetry?: Pick<MxClientOptions, "retries" | "baseDelayMs" | "maxDelayMs">;
  /**
   * Faults to inject (fault tests), by configuration only: DynamoDB throttling between the handlers and
   * dynalite, and workflow Lambdas crashing at their first write. MX's faults are the sandbox's knobs.
   */
  faults?: { dynamo?: DynamoFaults; lambda?: LambdaFaults };
}

/** A table of the project's shape, its name and the storage ports over it. */
export type TableStores = Stores & { tableName: string };

export interface LocalStackWorkflow {
  /** The sync state machine's (local) ARN, also STATE_MACHINE_ARN. */
  stateMachineArn: string;
  /** The definitions as deployed (tokens resolved), by role ("sync"). */
  definitions: Record<string, JsonObject>;
  stepFunctions: LocalStepFunctions;
  /** Starts a sync execution (input: a SyncRequest); `name` defaults to a UUID, as in AWS. */
  startExecution(input: unknown, name?: string): { executionArn: string };
  waitForExecution(executionArn: string): Promise<ExecutionResult>;
  /** Task tokens awaiting an answer (MFA), with the state waiting on each. */
  pendingTaskTokens(executionArn?: string): { taskToken: string; executionArn: string; stateName: string }[];
}

/** The background refresh: its queue (local SQS, consumed by functions/refresh-consumer.ts) and the sweep. */
export interface LocalStackRefresh {
  queueName: string;
  deadLetterQueueName: string;
  /** Runs functions/sweep.ts as its schedule would. */
  sweep(): Promise<unknown>;
  /** Resolves when the queue is empty and its consumer idle (delayed and retried messages included). */
  drain(timeoutMs?: number): Promise<void>;
}

/** The member purge: its queue (local SQS, consumed by functions/purge-member.ts). */
export interface LocalStackPurge {
  queueName: string;
  deadLetterQueueName: string;
  /** Resolves when every consumed queue is empty and idle (the purge's delayed first delivery included). */
  drain(timeoutMs?: number): Promise<void>;
}

export interface LocalStack {
  /** The variables set in process.env for the handlers. */
  env: Record<string, string>;
  /** The MX sandbox, or undefined when real MX is configured. */
  sandbox: Sandbox | undefined;
  dynamo: LocalDynamo;
  aws: LocalAws;
  workflow: LocalStackWorkflow;
  refresh: LocalStackRefresh;
  purge: LocalStackPurge;
  /** An MX client on the stack's MX with its credentials: for preparing members as a test or script. */
  mx: MxClient;
  /** The storage ports over the stack's table: what the handlers and the workflow read and write. */
  stores: TableStores;
  /**
   * A new, empty table (same shape) with its ports: for a test that counts or scans rows and must see only
   * its own. The handlers keep the stack's table (they read TABLE_NAME once), so use it only with use cases
   * called directly.
   */
  freshStores(): Promise<TableStores>;
  close(): Promise<void>;
}

/** Fake credentials and region: no local service checks them, the SDK wants them. */
const FAKE_AWS = {
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
};

let started = false;

/** Real MX when the user set all three variables, never under a test runner (no test calls real MX). */
function realMx(): { baseUrl: string; clientId: string; apiKey: string } | undefined {
  const { MX_BASE_URL, MX_CLIENT_ID, MX_API_KEY, VITEST } = process.env;
  if (VITEST || !MX_BASE_URL || !MX_CLIENT_ID || !MX_API_KEY) return undefined;
  return { baseUrl: MX_BASE_URL, clientId: MX_CLIENT_ID, apiKey: MX_API_KEY };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Handler modules read their configuration once, at import: a second stack in the same process would
  // run them against the first one's table and endpoints. One stack per process (per test file).
  if (started)
    throw new Error("startLocalStack: one embedded stack per process (handlers cache their config)");
  started = true;
  captureProcessOutput();

  const loaded: LocalWorkflow = await loadLocalWorkflow({
    waitScale: options.waitScale ?? 0.05,
    taskTokenTimeoutScale: options.taskTokenTimeoutScale ?? 1,
    ...(options.faults?.lambda ? { lambdaFaults: options.faults.lambda } : {}),
  });
  const syncArn = loaded.arns.sync;
  if (!syncArn) throw new Error("The synthesized stack lacks the sync state machine");

  // Executions stop (and their handler calls return) first, then the services they were calling.
  const closers: (() => Promise<void>)[] = [];
  let recordForSecretsScan = async () => {};
  const close = async () => {
    await loaded.stepFunctions.close().catch(() => {});
    await recordForSecretsScan();
    for (const closeOne of closers.splice(0).reverse()) await closeOne().catch(() => {});
  };
  try {
    const dynamo = await startDynamo(options.faults?.dynamo ? { faults: options.faults.dynamo } : {});
    closers.push(() => dynamo.close());
    const mx = realMx();
    const sandbox = mx ? undefined : await startSandbox(options.sandbox);
    if (sandbox) closers.push(() => sandbox.close());
    const aws = await startLocalAws({
      stepFunctions: loaded.stepFunctions,
      sqsDelayScale: options.sqsDelayScale ?? 0.001,
    });
    closers.push(() => aws.close());
    recordForSecretsScan = async () => {
      captureNeedles(bankSecretNeedles(sandbox?.secretsReceived() ?? []));
      await captureStack({
        dynamo: dynamo.client,
        stepFunctions: loaded.stepFunctions,
        stateMachineArns: Object.values(loaded.arns),
        events: aws.events,
      });
    };

    const mxSecretId = aws.putSecret(
      "mx-connect/mx-credentials",
      JSON.stringify({
        client_id: mx?.clientId ?? sandbox?.clientId,
        api_key: mx?.apiKey ?? sandbox?.apiKey,
      }),
    );
    const oauthStateKey = randomBytes(48).toString("base64url");
    const oauthStateSecretId = aws.putSecret("mx-connect/oauth-state-key", oauthStateKey);

    const webhookCredentials = { username: "mx-webhooks", password: randomBytes(24).toString("base64url") };
    const webhookSecretId = aws.putSecret(
      "mx-connect/mx-webhook-credentials",
      JSON.stringify(webhookCredentials),
    );
    const mxKey = {
      clientId: mx?.clientId ?? sandbox?.clientId ?? "",
      apiKey: mx?.apiKey ?? sandbox?.apiKey ?? "",
    };
    captureNeedles([
      secretNeedle("MX API key", mxKey.apiKey),
      secretNeedle("MX basic auth", Buffer.from(`${mxKey.clientId}:${mxKey.apiKey}`).toString("base64")),
      secretNeedle("OAuth state signing key", oauthStateKey),
      secretNeedle("MX webhook password", webhookCredentials.password),
      secretNeedle(
        "MX webhook basic auth",
        Buffer.from(`${webhookCredentials.username}:${webhookCredentials.password}`).toString("base64"),
      ),
    ]);
    const refreshQueues = { queue: "mx-connect-refresh", dlq: "mx-connect-refresh-dlq" };
    aws.sqs.createQueue(refreshQueues.dlq);
    const refreshQueueUrl = aws.sqs.createQueue(refreshQueues.queue, {
      visibilityTimeoutSeconds: BACKGROUND_REFRESH.consumerTimeoutSeconds * 6,
      deadLetterQueue: { name: refreshQueues.dlq, maxReceiveCount: BACKGROUND_REFRESH.maxReceiveCount },
    });

    const purgeQueues = { queue: "mx-connect-member-purge", dlq: "mx-connect-member-purge-dlq" };
    aws.sqs.createQueue(purgeQueues.dlq);
    const purgeQueueUrl = aws.sqs.createQueue(purgeQueues.queue, {
      visibilityTimeoutSeconds: MEMBER_PURGE.consumerTimeoutSeconds * 6,
      deadLetterQueue: { name: purgeQueues.dlq, maxReceiveCount: MEMBER_PURGE.maxReceiveCount },
    });

    const env: Record<string, string> = {
      ...FAKE_AWS,
      ...aws.env,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      TABLE_NAME: dynamo.tableName,
      MX_BASE_URL: mx?.baseUrl ?? sandbox?.url ?? "",
      MX_SECRET_ID: mxSecretId,
      OAUTH_STATE_SECRET_ID: oauthStateSecretId,
      STATE_MACHINE_ARN: syncArn,
      WEBHOOK_SECRET_ID: webhookSecretId,
      REFRESH_QUEUE_URL: refreshQueueUrl,
      PURGE_QUEUE_URL: purgeQueueUrl,
      POWERTOOLS_SERVICE_NAME: "mx-connect",
      LOG_LEVEL: process.env.LOG_LEVEL || "WARN",
    };
    // The template's literal settings (e.g. CHALLENGE_TIMEOUT_SECONDS), as Lambda would set them.
    for (const [name, literal] of Object.entries(loaded.requiredEnvironment)) {
      if (literal !== undefined && env[name] === undefined) env[name] = literal;
    }
    Object.assign(env, options.env);
    Object.assign(process.env, env);
    loaded.checkEnvironment();

    // The consumer and the sweep are plain Lambdas (no state machine): imported once the environment is set.
    const lambdaModule = async (entry: string): Promise<SqsHandler> => {
      const module = (await import(new URL(`../${entry}`, import.meta.url).href)) as { handler: SqsHandler };
      return module.handler;
    };
    const consumer = await lambdaModule("functions/refresh-consumer.ts");
    aws.sqs.attachConsumer(refreshQueues.queue, {
      handler: consumer,
      batchSize: BACKGROUND_REFRESH.batchSize,
      context: () =>
        createLambdaContext({
          functionName: "refresh-consumer",
          timeoutMs: BACKGROUND_REFRESH.consumerTimeoutSeconds * 1000,
        }),
    });
    const purgeTimeoutMs =
      options.purgeBudgetMs === undefined
        ? MEMBER_PURGE.consumerTimeoutSeconds * 1000
        : MEMBER_PURGE.reserveSeconds * 1000 + options.purgeBudgetMs;
    aws.sqs.attachConsumer(purgeQueues.queue, {
      handler: await lambdaModule("functions/purge-member.ts"),
      batchSize: 1,
      context: () => createLambdaContext({ functionName: "purge-member", timeoutMs: purgeTimeoutMs }),
    });
    if (sandbox && options.webhookUrl) {
      sandbox.setKnobs({ webhooks: { url: options.webhookUrl, ...webhookCredentials } });
    }

    const mxClient = createMxClient({
      baseUrl: env.MX_BASE_URL ?? "",
      credentials: {
        clientId: mx?.clientId ?? sandbox?.clientId ?? "",
        apiKey: mx?.apiKey ?? sandbox?.apiKey ?? "",
      },
      ...options.mxRetry,
    });
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    const storesOn = (tableName: string): TableStores => ({ ...createStores({ doc, tableName }), tableName });
    let tables = 0;

    const sfn = loaded.stepFunctions;
    const start = (stateMachineArn: string, input: unknown, name?: string) =>
      sfn.startExecution({ stateMachineArn, input: JSON.stringify(input ?? {}), ...(name ? { name } : {}) });
    return {
      env,
      sandbox,
      dynamo,
      aws,
      mx: mxClient,
      stores: storesOn(dynamo.tableName),
      async freshStores() {
        const tableName = `${dynamo.tableName}-${++tables}`;
        await createTable(dynamo.client, tableName);
        return storesOn(tableName);
      },
      workflow: {
        stateMachineArn: syncArn,
        definitions: loaded.definitions,
        stepFunctions: sfn,
        startExecution: (input, name) => start(syncArn, input, name),
        waitForExecution: (executionArn) => sfn.waitForExecution(executionArn),
        pendingTaskTokens: (executionArn) => sfn.pendingTaskTokens(executionArn),
      },
      refresh: {
        queueName: refreshQueues.queue,
        deadLetterQueueName: refreshQueues.dlq,
        async sweep() {
          const sweep = await lambdaModule("functions/sweep.ts");
          return sweep({}, createLambdaContext({ functionName: "sweep", timeoutMs: 300_000 }));
        },
        drain: (timeoutMs) => aws.sqs.drain(timeoutMs),
      },
      purge: {
        queueName: purgeQueues.queue,
        deadLetterQueueName: purgeQueues.dlq,
        drain: (timeoutMs) => aws.sqs.drain(timeoutMs),
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export type { ExecutionResult, Json };

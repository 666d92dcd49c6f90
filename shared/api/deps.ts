// What a route's handler gets, derived from the needs it declares in shared/api/routes.ts: the
// configuration (checked at module load), the table's stores and the Step Functions adapters (built once
// per container), and the middlewares that put MX's client and the signing keys on each invocation.
import type { MiddlewareObj } from "@middy/core";
import {
  challengeConfigSchema,
  config,
  mxConfigSchema,
  purgeQueueConfigSchema,
  stateMachineConfigSchema,
  tableConfigSchema,
} from "../config";
import type { EventPublisher } from "../events/ports";
import { tableStores } from "../lambda/dynamo";
import type { MxContext, mxClient, mxSecret } from "../lambda/mx";
import type { PurgeQueue } from "../members/purge-queue";
import type { MxApi } from "../mx/api";
import type { Stores } from "../storage/dynamo";
import type { SfnPort } from "../sync/sfn";
import {
  checkRouteConfig,
  publicUrlConfigSchema,
  redirectsConfigSchema,
  signingKeyConfigSchema,
} from "./config";
import type { ApiKeys } from "./oauth-state";
import type { RouteNeeds } from "./routes";
import type { KeysContext, signingKeyMiddlewares } from "./signing-key";

/** The Step Functions adapters (shared/lambda/sfn.ts), passed in by the handlers whose route needs them. */
export interface StepFunctions {
  sfnPort(stateMachineArn?: string): SfnPort;
  runStopper(stateMachineArn: string): (syncRun: string) => Promise<void>;
}

type NeedsStepFunctions = { startExecution: true } | { stopExecution: true } | { taskResponse: true };

/**
 * The adapters a route's handler must hand to `apiHandler`: the Step Functions module when the route
 * touches the workflow, nothing otherwise (so the other bundles never load the SFN client).
 */
export type RouteAdapters<N extends RouteNeeds> = (N extends NeedsStepFunctions
  ? { stepFunctions: StepFunctions }
  : { stepFunctions?: never }) &
  (N extends { events: true } ? { appEvents: AppEvents } : { appEvents?: never }) &
  (N extends { memberPurge: true } ? { purgeQueues: PurgeQueues } : { purgeQueues?: never }) &
  (N extends { mx: true } ? { mxClients: MxClients } : { mxClients?: never }) &
  (N extends { signingKey: true } ? { signingKeys: SigningKeys } : { signingKeys?: never });

/**
 * The MX middlewares (shared/lambda/mx.ts), passed in by the handlers whose route calls MX: only their
 * bundles load the MX client and Secrets Manager (the read routes' cold start is the smaller for it).
 */
export interface MxClients {
  mxSecret: typeof mxSecret;
  mxClient: typeof mxClient;
}

/** The signing-key middlewares (shared/api/signing-key.ts), passed in likewise by the routes that sign or verify. */
export interface SigningKeys {
  signingKeyMiddlewares: typeof signingKeyMiddlewares;
}

/** The app-events module (shared/events/lambda.ts), passed in by the handlers that publish (only their bundles load it). */
export interface AppEvents {
  eventPublisher(): EventPublisher;
}

/** The purge-queue module (shared/lambda/purge-queue.ts), passed in by the handlers that queue a purge. */
export interface PurgeQueues {
  purgeQueue(queueUrl: string): PurgeQueue;
}

/** Known once the container has started: configuration, stores and adapters. */
export type LoadedDeps<N extends RouteNeeds> = { now: () => Date } & (N extends {
  table: "read" | "readWrite";
}
  ? Stores
  : unknown) &
  (N extends { startExecution: true } | { taskResponse: true } ? { sfn: SfnPort } : unknown) &
  (N extends { stopExecution: true } ? { stopRun: (syncRun: string) => Promise<void> } : unknown) &
  (N extends { redirects: true } ? { redirectAllowList: readonly string[] } : unknown) &
  (N extends { publicUrl: true } ? { apiBaseUrl: string } : unknown) &
  (N extends { taskResponse: true } ? { challengeTimeoutSeconds: number } : unknown) &
  (N extends { events: true } ? { events: EventPublisher } : unknown) &
  (N extends { memberPurge: true } ? { purgeQueue: PurgeQueue } : unknown);

/** Everything a route's handler gets: the loaded deps plus, per invocation, MX's client and the signing keys. */
export type RouteDeps<N extends RouteNeeds> = LoadedDeps<N> &
  (N extends { mx: true } ? { mx: MxApi } : unknown) &
  (N extends { signingKey: true } ? { keys: ApiKeys } : unknown);

export interface BuiltRoute<N extends RouteNeeds> {
  loaded: LoadedDeps<N>;
  /** Run after the request is parsed, so a refused request never fetches a secret. */
  middlewares: MiddlewareObj[];
  /** The per-invocation deps, read from the context the middlewares filled. */
  depsFrom(context: object): RouteDeps<N>;
}

/** Builds a route's deps from its declared needs; called once, at module load of its handler. */
export function buildRoute<N extends RouteNeeds>(needs: N, adapters: RouteAdapters<N>): BuiltRoute<N> {
  checkRouteConfig(needs);
  // Filled per need below; the conditional type above says which fields exist for this route.
  const loaded: Record<string, unknown> = { now: () => new Date() };
  const middlewares: MiddlewareObj[] = [];
  if (needs.table !== "none") Object.assign(loaded, tableStores(config(tableConfigSchema).TABLE_NAME));
  // The conditional type is unresolved for a generic N: read the field as what it is at run time.
  const { stepFunctions, appEvents, purgeQueues, mxClients, signingKeys } = adapters as {
    stepFunctions?: StepFunctions;
    appEvents?: AppEvents;
    purgeQueues?: PurgeQueues;
    mxClients?: MxClients;
    signingKeys?: SigningKeys;
  };
  if (needs.events) {
    if (!appEvents) throw new Error("apiHandler: this route needs the app-events adapter");
    loaded.events = appEvents.eventPublisher();
  }
  if (needs.memberPurge) {
    if (!purgeQueues) throw new Error("apiHandler: this route needs the purge-queue adapter");
    loaded.purgeQueue = purgeQueues.purgeQueue(config(purgeQueueConfigSchema).PURGE_QUEUE_URL);
  }
  if (needs.startExecution || needs.stopExecution || needs.taskResponse) {
    if (!stepFunctions) throw new Error("apiHandler: this route needs the Step Functions adapters");
    const arn =
      needs.startExecution || needs.stopExecution
        ? config(stateMachineConfigSchema).STATE_MACHINE_ARN
        : undefined;
    // Resuming a run needs no state machine ARN: the task token names the run.
    if (needs.startExecution || needs.taskResponse)
      loaded.sfn = stepFunctions.sfnPort(needs.startExecution ? arn : undefined);
    if (needs.stopExecution && arn) loaded.stopRun = stepFunctions.runStopper(arn);
  }
  if (needs.redirects) loaded.redirectAllowList = config(redirectsConfigSchema).REDIRECT_ALLOW_LIST;
  if (needs.publicUrl) loaded.apiBaseUrl = config(publicUrlConfigSchema).API_BASE_URL;
  if (needs.taskResponse)
    loaded.challengeTimeoutSeconds = config(challengeConfigSchema).CHALLENGE_TIMEOUT_SECONDS;
  if (needs.mx) {
    if (!mxClients) throw new Error("apiHandler: this route needs the MX middlewares");
    const mxOptions = config(mxConfigSchema);
    middlewares.push(
      mxClients.mxSecret(mxOptions) as MiddlewareObj,
      mxClients.mxClient(mxOptions) as MiddlewareObj,
    );
  }
  if (needs.signingKey) {
    if (!signingKeys) throw new Error("apiHandler: this route needs the signing-key middlewares");
    middlewares.push(
      ...signingKeys.signingKeyMiddlewares(config(signingKeyConfigSchema).OAUTH_STATE_SECRET_ID),
    );
  }
  return {
    loaded: loaded as LoadedDeps<N>,
    middlewares,
    depsFrom(context) {
      const perCall: Record<string, unknown> = { ...loaded };
      if (needs.mx) perCall.mx = (context as MxContext).mx;
      if (needs.signingKey) perCall.keys = (context as KeysContext).apiKeys;
      return perCall as RouteDeps<N>;
    },
  };
}

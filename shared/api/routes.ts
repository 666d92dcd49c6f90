// The Connect API's route table: the single source the CDK construct (infra/constructs/api.ts) and the
// local HTTP server (local/api/) both read, so the deployed and the local API can never disagree. Plain
// data: each route declares here, once, what its Lambda needs; infra derives the function's environment
// and grants from it, and `apiHandler` (shared/api/http.ts) the middlewares and the handler's typed deps.
import { MX_ROUTE_TIMEOUT_SECONDS, ROUTE_TIMEOUT_SECONDS } from "./limits";

/** What a route's Lambda touches. Reads only read; only the routes that must write, write. */
export interface RouteNeeds {
  /** Calls MX: the MX credentials secret, MX_BASE_URL / MX_SECRET_ID, `deps.mx`. */
  readonly mx?: true;
  /** The table: TABLE_NAME and the stores (`deps.members`, …); "read" is granted read access only. */
  readonly table: "none" | "read" | "readWrite";
  /** The API signing secret (OAuth states, idempotency ids): `deps.keys`. */
  readonly signingKey?: true;
  /** Starts sync executions: STATE_MACHINE_ARN, `deps.sfn`. */
  readonly startExecution?: true;
  /** Stops this state machine's executions (delete stops a run that holds the member): `deps.stopRun`. */
  readonly stopExecution?: true;
  /** SendTaskSuccess/Failure: resumes the run waiting for an MFA answer; `deps.challengeTimeoutSeconds`. */
  readonly taskResponse?: true;
  /** REDIRECT_ALLOW_LIST: `deps.redirectAllowList`. */
  readonly redirects?: true;
  /** API_BASE_URL, this API's public URL: `deps.apiBaseUrl`. */
  readonly publicUrl?: true;
  /** Publishes app events (shared/events): EVENT_BUS_NAME, PutEvents on the bus, `deps.events`. */
  readonly events?: true;
  /**
   * MX's webhooks: the webhook basic-auth secret (WEBHOOK_SECRET_ID, read) and the refresh queue
   * (REFRESH_QUEUE_URL, send only). Granted by the BackgroundRefresh construct, which owns both.
   */
  readonly mxWebhook?: true;
  /**
   * Queues a member's background purge: PURGE_QUEUE_URL, send only, `deps.purgeQueue`. Granted by the
   * MemberPurge construct, which owns the queue.
   */
  readonly memberPurge?: true;
}

export interface ApiRoute {
  readonly method: "GET" | "POST" | "DELETE";
  /** API Gateway HTTP API syntax, e.g. "/v1/members/{member_guid}". */
  readonly path: string;
  /** The handler module (exports `handler`), relative to the repo root. */
  readonly entry: string;
  /** No JWT: the OAuth callback (the user's browser, from MX) and MX's webhooks (MX's basic auth). */
  readonly public?: true;
  /** Construct id, unique, PascalCase. */
  readonly id: string;
  readonly needs: RouteNeeds;
}

const routes = [
  {
    method: "GET",
    path: "/v1/institutions",
    entry: "functions/api-search-institutions.ts",
    id: "SearchInstitutions",
    needs: { mx: true, table: "none" },
  },
  {
    method: "GET",
    path: "/v1/institutions/{institution_code}/credentials",
    entry: "functions/api-list-credentials.ts",
    id: "ListCredentials",
    needs: { mx: true, table: "none" },
  },
  {
    method: "POST",
    path: "/v1/members",
    entry: "functions/api-create-member.ts",
    id: "CreateMember",
    needs: {
      mx: true,
      table: "readWrite",
      signingKey: true,
      startExecution: true,
      redirects: true,
      publicUrl: true,
    },
  },
  {
    method: "GET",
    path: "/v1/members",
    entry: "functions/api-list-members.ts",
    id: "ListMembers",
    needs: { table: "read" },
  },
  {
    method: "GET",
    path: "/v1/members/{member_guid}",
    entry: "functions/api-get-member.ts",
    id: "GetMember",
    needs: { table: "read" },
  },
  {
    method: "GET",
    path: "/v1/members/{member_guid}/challenges",
    entry: "functions/api-get-challenges.ts",
    id: "GetChallenges",
    needs: { table: "read" },
  },
  {
    method: "POST",
    path: "/v1/members/{member_guid}/challenges",
    entry: "functions/api-answer-challenges.ts",
    id: "AnswerChallenges",
    needs: { mx: true, table: "readWrite", taskResponse: true },
  },
  {
    method: "POST",
    path: "/v1/members/{member_guid}/sync",
    entry: "functions/api-sync-member.ts",
    id: "SyncMember",
    needs: { table: "read", startExecution: true },
  },
  {
    method: "DELETE",
    path: "/v1/members/{member_guid}",
    entry: "functions/api-delete-member.ts",
    id: "DeleteMember",
    // member.deleted is published by the purge, once the rows are gone.
    needs: { mx: true, table: "readWrite", stopExecution: true, memberPurge: true },
  },
  {
    method: "GET",
    path: "/v1/members/{member_guid}/owners",
    entry: "functions/api-list-owners.ts",
    id: "ListOwners",
    needs: { table: "read" },
  },
  {
    method: "GET",
    path: "/v1/accounts",
    entry: "functions/api-list-accounts.ts",
    id: "ListAccounts",
    needs: { table: "read" },
  },
  {
    method: "GET",
    path: "/v1/accounts/{account_guid}/transactions",
    entry: "functions/api-list-transactions.ts",
    id: "ListTransactions",
    needs: { table: "read" },
  },
  {
    method: "GET",
    path: "/v1/transactions/sync",
    entry: "functions/api-transactions-sync.ts",
    id: "TransactionsSync",
    // Reads only; the signing key signs and checks its cursors.
    needs: { table: "read", signingKey: true },
  },
  {
    method: "GET",
    path: "/v1/oauth/callback/{state}",
    entry: "functions/api-oauth-callback.ts",
    public: true,
    id: "OauthCallback",
    needs: { table: "readWrite", signingKey: true, startExecution: true, redirects: true },
  },
  {
    method: "GET",
    path: "/v1/members/{member_guid}/syncs",
    entry: "functions/api-list-syncs.ts",
    id: "ListSyncs",
    needs: { table: "read" },
  },
  {
    method: "POST",
    path: "/v1/members/{member_guid}/reconnect",
    entry: "functions/api-reconnect-member.ts",
    id: "ReconnectMember",
    needs: { mx: true, table: "readWrite", signingKey: true, startExecution: true, publicUrl: true },
  },
  {
    method: "POST",
    path: "/v1/mx/webhooks",
    entry: "functions/api-mx-webhook.ts",
    public: true,
    id: "MxWebhook",
    needs: { table: "none", mxWebhook: true },
  },
] as const satisfies readonly ApiRoute[];

export const apiRoutes: readonly ApiRoute[] = routes;

/** A route's Lambda timeout: longer for the routes that call MX (their MX budget ends before it). */
export function routeTimeoutSeconds(route: Pick<ApiRoute, "needs">): number {
  return route.needs.mx ? MX_ROUTE_TIMEOUT_SECONDS : ROUTE_TIMEOUT_SECONDS;
}

export type RouteId = (typeof routes)[number]["id"];

/** The declared needs of route `Id`, as literal types (so a handler's deps follow from them). */
export type NeedsOf<Id extends RouteId> = Extract<(typeof routes)[number], { id: Id }>["needs"];

export function routeById<Id extends RouteId>(id: Id): Omit<ApiRoute, "needs"> & { needs: NeedsOf<Id> } {
  const route = routes.find((candidate) => candidate.id === id);
  if (!route) throw new Error(`No route ${id} in shared/api/routes.ts`);
  // `find` widens the literal type; the id names exactly this entry.
  return route as Omit<ApiRoute, "needs"> & { needs: NeedsOf<Id> };
}

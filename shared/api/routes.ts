// The Connect API's route table: the single source the CDK construct (infra/constructs/api.ts) and the
// local HTTP server (local/api/) both read, so the deployed and the local API can never disagree.

export interface ApiRoute {
  method: "GET" | "POST" | "DELETE";
  /** API Gateway HTTP API syntax, e.g. "/v1/members/{member_guid}". */
  path: string;
  /** The handler module (exports `handler`), relative to the repo root. */
  entry: string;
  /** Only the OAuth callback: reached by the user's browser from MX, so no JWT. */
  public?: true;
  /** Construct id, unique, PascalCase. */
  id: string;
}

export const apiRoutes: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/v1/institutions",
    entry: "functions/api-search-institutions.ts",
    id: "SearchInstitutions",
  },
  {
    method: "GET",
    path: "/v1/institutions/{institution_code}/credentials",
    entry: "functions/api-list-credentials.ts",
    id: "ListCredentials",
  },
  { method: "POST", path: "/v1/members", entry: "functions/api-create-member.ts", id: "CreateMember" },
  { method: "GET", path: "/v1/members", entry: "functions/api-list-members.ts", id: "ListMembers" },
  { method: "GET", path: "/v1/members/{member_guid}", entry: "functions/api-get-member.ts", id: "GetMember" },
  {
    method: "GET",
    path: "/v1/members/{member_guid}/challenges",
    entry: "functions/api-get-challenges.ts",
    id: "GetChallenges",
  },
  {
    method: "POST",
    path: "/v1/members/{member_guid}/challenges",
    entry: "functions/api-answer-challenges.ts",
    id: "AnswerChallenges",
  },
  {
    method: "POST",
    path: "/v1/members/{member_guid}/sync",
    entry: "functions/api-sync-member.ts",
    id: "SyncMember",
  },
  {
    method: "DELETE",
    path: "/v1/members/{member_guid}",
    entry: "functions/api-delete-member.ts",
    id: "DeleteMember",
  },
  {
    method: "GET",
    path: "/v1/members/{member_guid}/owners",
    entry: "functions/api-list-owners.ts",
    id: "ListOwners",
  },
  { method: "GET", path: "/v1/accounts", entry: "functions/api-list-accounts.ts", id: "ListAccounts" },
  {
    method: "GET",
    path: "/v1/accounts/{account_guid}/transactions",
    entry: "functions/api-list-transactions.ts",
    id: "ListTransactions",
  },
  {
    method: "GET",
    path: "/v1/oauth/callback/{state}",
    entry: "functions/api-oauth-callback.ts",
    public: true,
    id: "OauthCallback",
  },
];

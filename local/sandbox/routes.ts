// The API routes the sandbox serves (MX's README table, plus a few reads around it), by path template.
import * as data from "./api-data";
import * as members from "./api-members";
import * as users from "./api-users";
import type { ApiReply, ApiRequest } from "./http";

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** OpenAPI path template, e.g. `/users/{user_guid}`. */
  template: string;
  handle(req: ApiRequest): ApiReply;
}

export const ROUTES: readonly Route[] = [
  { method: "GET", template: "/users", handle: users.listUsers },
  { method: "POST", template: "/users", handle: users.createUser },
  { method: "GET", template: "/users/{user_guid}", handle: users.readUser },
  { method: "DELETE", template: "/users/{user_guid}", handle: users.deleteUser },
  { method: "GET", template: "/institutions", handle: users.listInstitutions },
  { method: "GET", template: "/institutions/{institution_code}", handle: users.readInstitution },
  { method: "GET", template: "/institutions/{institution_code}/credentials", handle: users.listCredentials },
  { method: "GET", template: "/users/{user_guid}/members", handle: members.listMembers },
  { method: "POST", template: "/users/{user_guid}/members", handle: members.createMember },
  { method: "GET", template: "/users/{user_guid}/members/{member_guid}", handle: members.readMember },
  { method: "PUT", template: "/users/{user_guid}/members/{member_guid}", handle: members.updateMember },
  { method: "DELETE", template: "/users/{user_guid}/members/{member_guid}", handle: members.deleteMember },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/status",
    handle: members.readMemberStatus,
  },
  {
    method: "POST",
    template: "/users/{user_guid}/members/{member_guid}/aggregate",
    handle: members.aggregateMember,
  },
  {
    method: "POST",
    template: "/users/{user_guid}/members/{member_guid}/identify",
    handle: members.identifyMember,
  },
  {
    method: "POST",
    template: "/users/{user_guid}/members/{member_guid}/extend_history",
    handle: members.extendHistory,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/challenges",
    handle: members.listChallenges,
  },
  {
    method: "PUT",
    template: "/users/{user_guid}/members/{member_guid}/resume",
    handle: members.resumeMember,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/oauth_window_uri",
    handle: members.requestOauthWindowUri,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/account_owners",
    handle: data.listAccountOwners,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/accounts",
    handle: data.listMemberAccounts,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/accounts/{account_guid}",
    handle: data.readMemberAccount,
  },
  {
    method: "GET",
    template: "/users/{user_guid}/members/{member_guid}/transactions",
    handle: data.listMemberTransactions,
  },
  { method: "GET", template: "/users/{user_guid}/accounts", handle: data.listUserAccounts },
  { method: "GET", template: "/users/{user_guid}/accounts/{account_guid}", handle: data.readUserAccount },
  {
    method: "GET",
    template: "/users/{user_guid}/accounts/{account_guid}/transactions",
    handle: data.listAccountTransactions,
  },
  { method: "GET", template: "/users/{user_guid}/transactions", handle: data.listUserTransactions },
];

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    const g = got[i] ?? "";
    if (w.startsWith("{") && w.endsWith("}")) {
      if (g === "") return undefined;
      try {
        params[w.slice(1, -1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) return undefined;
  }
  return params;
}

/** The route for method + path; `undefined` when nothing matches (404, as MX answers unknown paths). */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matchTemplate(route.template, trimmed);
    if (params) return { route, params };
  }
  return undefined;
}

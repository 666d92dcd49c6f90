// Table 2, MX calls: counted at the sandbox, by route, for a first sync, a day of new data (background
// refresh), a foreground refresh and the sweep of a member with nothing new, beside the minimum each case
// must make. Measured by mx-calls-run.ts in its own process (one embedded stack each).
import { fileURLToPath } from "node:url";
import { runInChild } from "./child";
import type { BenchRow, BenchTable } from "./table";

/** Status reads: the polls while a user waits and the refresh's one check. The goal excludes them. */
export const STATUS_ROUTE = "GET /users/{user_guid}/members/{member_guid}/status";

export type CallCase = "firstSync" | "dayOfNewData" | "foregroundRefresh" | "nothingNew";

export interface CaseCalls {
  /** MX requests by route (method and path template), as the sandbox counted them. */
  byRoute: Record<string, number>;
  /** The least each route must be called for this case (status reads not included). */
  minimum: Record<string, number>;
}

export interface MxCallsResult {
  accounts: number;
  transactionsPerAccount: number;
  cases: Record<CallCase, CaseCalls>;
}

/** Calls beyond the minimum, status reads excluded: what issue #13's goal counts. */
export function beyondMinimum(calls: CaseCalls): number {
  return Object.entries(calls.byRoute)
    .filter(([route]) => route !== STATUS_ROUTE)
    .reduce((sum, [route, n]) => sum + Math.max(0, n - (calls.minimum[route] ?? 0)), 0);
}

const MX_CALLS_RUN = fileURLToPath(new URL("./mx-calls-run.ts", import.meta.url));

const CASES: Record<CallCase, string> = {
  firstSync: "first sync",
  dayOfNewData: "background refresh (webhook, a day of new data)",
  foregroundRefresh: "foreground refresh (POST …/sync)",
  nothingNew: "sweep, nothing new",
};

const sum = (routes: Record<string, number>, skip?: string) =>
  Object.entries(routes).reduce((total, [route, n]) => total + (route === skip ? 0 : n), 0);
/** "GET …/transactions ×7": the route's last path segment is enough to tell them apart. */
const routeList = (routes: Record<string, number>) =>
  Object.entries(routes)
    .map(([route, n]) => `${route.replace(/\/\{user_guid\}\/members\/\{member_guid\}/, "/…")} ×${n}`)
    .join(", ");

export async function benchMxCalls(): Promise<BenchTable[]> {
  const result = await runInChild<MxCallsResult>(MX_CALLS_RUN, []);
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  let beyond = 0;
  for (const [name, label] of Object.entries(CASES) as [CallCase, string][]) {
    const calls = result.cases[name];
    const extra = beyondMinimum(calls);
    beyond += extra;
    rows.push(
      {
        metric: `${label}: MX calls but status`,
        figure: sum(calls.byRoute, STATUS_ROUTE),
        baseline: sum(calls.minimum),
      },
      { metric: `${label}: calls beyond minimum (excluding status polls)`, figure: extra, baseline: 0 },
    );
    notes.push(`${label}: ${routeList(calls.byRoute)}; minimum ${routeList(calls.minimum) || "none"}.`);
  }
  return [
    {
      title: `MX calls by case, member of ${result.accounts} accounts (${result.transactionsPerAccount} transactions a year each), counted at the sandbox`,
      figureLabel: "product",
      baselineLabel: "minimum",
      rows,
      notes: [
        `Goal: no call beyond the minimum except status polls: ${beyond === 0 ? "met" : `NOT met (${beyond} beyond)`}.`,
        ...notes,
        "Minimum: create user and member once; accounts and transactions in pages of 1,000 (MX's largest); one call per date",
        "  window the run must read (≤180 days each; an empty window still costs the call that says so); a background refresh",
        "  reads what MX updated since the day of its stored data (MX takes from_updated_at as a day) and the days that held",
        "  pending rows; a foreground refresh also asks MX to aggregate. MX's row counts are asked after each case (not counted).",
        "Everything after the action is counted: the workflow, MX's webhooks and the refresh queue's consumer.",
      ],
    },
  ];
}

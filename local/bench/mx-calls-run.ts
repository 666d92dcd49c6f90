// Table 2, MX calls: what the product asks MX for, counted by route at the sandbox, for a first sync
// (POST /v1/members, the workflow, the webhook of that aggregation), a day of new data (MX's background
// aggregation, its webhook, the queue's consumer), a foreground refresh (POST …/sync through the workflow)
// and the sweep of a member with nothing new, each beside the minimum computed from what the case must
// read. In its own process (one embedded stack per process, over HTTP: `startAll`); alone it prints JSON:
//
//   npx tsx local/bench/mx-calls-run.ts
import "../polyfills";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import { MAX_RECORDS_PER_PAGE } from "../../shared/mx/client";
import { createConnectClient } from "../client";
import { TEST_USERNAME } from "../sandbox/index";
import type { MxCallsResult } from "./mx-calls";
import { COST_MEMBER, startCostStack } from "./refresh-cost";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const ROUTES = {
  createUser: "POST /users",
  createMember: "POST /users/{user_guid}/members",
  aggregate: "POST /users/{user_guid}/members/{member_guid}/aggregate",
  accounts: "GET /users/{user_guid}/members/{member_guid}/accounts",
  transactions: "GET /users/{user_guid}/members/{member_guid}/transactions",
} as const;

/** Pages of MX's largest size needed for `rows` (one even when empty: it takes a call to learn that). */
const pages = (rows: number) => Math.max(1, Math.ceil(rows / MAX_RECORDS_PER_PAGE));

const windowsSchema = z.object({
  begin: z.object({ windows: z.array(z.object({ from: z.string(), to: z.string() })) }),
});
type Window = z.infer<typeof windowsSchema>["begin"]["windows"][number];

export async function measureMxCalls(): Promise<MxCallsResult> {
  const app = await startCostStack();
  const sandbox = app.stack.sandbox;
  const sfn = app.stack.workflow.stepFunctions;
  const userId = "mx-calls-user";
  try {
    if (!sandbox)
      throw new Error(
        "The MX-calls benchmark needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)",
      );
    const api = createConnectClient(app.apiUrl, await app.issueToken(userId));
    const fields = await api.credentialFields("mxbank");

    const seen = new Set<string>();
    /** The one new sync execution, to its end: the windows its Begin cut. */
    const workflowRun = async (): Promise<Window[]> => {
      const fresh = sfn
        .listExecutions({ stateMachineArn: app.stack.workflow.stateMachineArn })
        .executions.filter((e) => !seen.has(e.executionArn));
      const [execution] = fresh;
      if (!execution || fresh.length > 1)
        throw new Error(`Expected one new sync execution, got ${fresh.length}`);
      seen.add(execution.executionArn);
      const result = await sfn.waitForExecution(execution.executionArn);
      if (result.status !== "SUCCEEDED") throw new Error(`The sync ended ${result.status}`);
      for (const event of sfn.history(execution.executionArn)) {
        if ("state" in event && event.type === "StateExited" && event.state.name === "Begin")
          return windowsSchema.parse(event.state.output).begin.windows;
      }
      throw new Error("No Begin in the execution's history");
    };
    /** MX requests by route while `act` and everything it sets off (webhooks, the queue) run. */
    const count = async (act: () => Promise<unknown>): Promise<Record<string, number>> => {
      const before = { ...sandbox.stats().byRoute };
      await act();
      await sandbox.flushWebhooks();
      await app.stack.refresh.drain();
      return Object.fromEntries(
        Object.entries(sandbox.stats().byRoute)
          .map(([route, n]) => [route, n - (before[route] ?? 0)] as const)
          .filter(([, n]) => n > 0),
      );
    };

    let memberGuid = "";
    let firstWindows: Window[] = [];
    const firstSync = await count(async () => {
      const member = await api.createMember({
        institution_code: "mxbank",
        credentials: fields.map((f) => ({
          guid: f.guid,
          value: f.field_name === "LOGIN" ? TEST_USERNAME : "password",
        })),
      });
      memberGuid = member.guid;
      firstWindows = await workflowRun();
    });
    const stored = await app.stack.stores.members.getMember(userId, memberGuid);
    if (!stored) throw new Error("The member was not stored");
    const { mxUserGuid } = stored;
    // What MX holds, asked after each case (these calls fall outside the counts): rows per query.
    const rowsOf = async (query: { fromDate?: string; toDate?: string; fromUpdatedAt?: string }) =>
      (await app.stack.mx.listTransactions(mxUserGuid, memberGuid, { ...query, page: 1, recordsPerPage: 1 }))
        .pagination.total_entries;
    const windowPages = async (windows: Window[]) => {
      let total = 0;
      for (const window of windows)
        total += pages(await rowsOf({ fromDate: window.from, toDate: window.to }));
      return total;
    };
    const accountPages = pages((await api.accounts()).length);
    const firstSyncTransactions = await windowPages(firstWindows);

    // A day of new data: MX takes from_updated_at as a day, so the least a refresh can read is every row
    // MX updated on or after the day of the data it stored, then the days that held pending rows.
    const since = (await app.stack.mx.readMemberStatus(mxUserGuid, memberGuid)).successfully_aggregated_at;
    const pendingBefore = await app.stack.stores.bankData.pendingDays(userId, memberGuid);
    if (!since) throw new Error("MX reports no aggregation for the member");
    const dayOfNewData = await count(() => sandbox.advanceTime(DAY_MS + 60_000));
    const dayTransactions =
      pages(await rowsOf({ fromUpdatedAt: since.slice(0, 10) })) +
      (pendingBefore ? pages(await rowsOf({ fromDate: pendingBefore.from, toDate: pendingBefore.to })) : 0);

    const nothingNew = await count(() => app.stack.refresh.sweep());

    await sandbox.advanceTime(3 * HOUR_MS + 60_000);
    let refreshWindows: Window[] = [];
    const foregroundRefresh = await count(async () => {
      await api.post(`/v1/members/${memberGuid}/sync`);
      refreshWindows = await workflowRun();
    });
    const refreshTransactions = await windowPages(refreshWindows);

    return {
      accounts: COST_MEMBER.accounts,
      transactionsPerAccount: COST_MEMBER.transactionsPerAccount,
      cases: {
        firstSync: {
          byRoute: firstSync,
          minimum: {
            [ROUTES.createUser]: 1,
            [ROUTES.createMember]: 1,
            [ROUTES.accounts]: accountPages,
            [ROUTES.transactions]: firstSyncTransactions,
          },
        },
        dayOfNewData: {
          byRoute: dayOfNewData,
          minimum: { [ROUTES.accounts]: accountPages, [ROUTES.transactions]: dayTransactions },
        },
        foregroundRefresh: {
          byRoute: foregroundRefresh,
          minimum: {
            [ROUTES.aggregate]: 1,
            [ROUTES.accounts]: accountPages,
            [ROUTES.transactions]: refreshTransactions,
          },
        },
        nothingNew: { byRoute: nothingNew, minimum: {} },
      },
    };
  } finally {
    await app.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await measureMxCalls();
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

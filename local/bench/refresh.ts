// What a member costs (issue #13's table 5): its connection, the background refresh (MX's webhook after its
// daily aggregation; the sweep when MX has nothing new), a foreground refresh and a changes-feed read, each
// beside its floor; then the refreshes beside the connection of the same member: MX calls, rows written and
// AWS cost, counted on the embedded stack over HTTP by refresh-cost.ts in its own process.
import { fileURLToPath } from "node:url";
import { runInChild } from "./child";
import type { CaseCost, CostCase, RefreshCostResult } from "./refresh-cost";
import type { BenchRow, BenchTable } from "./table";

const REFRESH_COST = fileURLToPath(new URL("./refresh-cost.ts", import.meta.url));

function rows(refresh: CaseCost, first: CaseCost): BenchRow[] {
  return [
    { metric: "MX requests", figure: refresh.mxCalls, baseline: first.mxCalls },
    { metric: "transaction rows written", figure: refresh.rowsWritten, baseline: first.rowsWritten },
    { metric: "Lambda invocations", figure: refresh.lambdaInvocations, baseline: first.lambdaInvocations },
    { metric: "billed Lambda ms", figure: refresh.billedLambdaMs, baseline: first.billedLambdaMs },
    {
      metric: "Step Functions transitions",
      figure: refresh.stateTransitions,
      baseline: first.stateTransitions,
    },
    { metric: "SQS requests", figure: refresh.sqsRequests, baseline: first.sqsRequests },
    { metric: "DynamoDB read units", figure: refresh.readUnits, baseline: first.readUnits, digits: 1 },
    { metric: "DynamoDB write units", figure: refresh.writeUnits, baseline: first.writeUnits },
    {
      metric: "cost (US$ per million)",
      figure: refresh.costUsd * 1e6,
      baseline: first.costUsd * 1e6,
      digits: 1,
    },
  ];
}

/** Issue #13's goals, in US$ per case (none for the foreground refresh and the feed read). */
export const COST_GOALS: Partial<Record<CostCase, number>> = {
  firstSync: 0.002,
  dayOfNewData: 0.0001,
  nothingNew: 0.00002,
};

const CASES: { key: CostCase; label: string }[] = [
  { key: "firstSync", label: "connection (POST /v1/members, the workflow)" },
  { key: "dayOfNewData", label: "background refresh, a day of new data" },
  { key: "nothingNew", label: "background refresh, nothing new (sweep)" },
  { key: "foregroundRefresh", label: "foreground refresh (POST …/sync)" },
  { key: "feedRead", label: "feed read of that day's changes" },
];

function costTable(result: RefreshCostResult): BenchTable {
  const goals = CASES.flatMap(({ key, label }) => {
    const goal = COST_GOALS[key];
    if (goal === undefined) return [];
    const cost = result[key].costUsd;
    return [`${label}: $${cost.toFixed(6)} vs goal ≤ $${goal} (${cost <= goal ? "met" : "NOT met"})`];
  });
  const first = result.firstSync;
  const perRow = first.rowsWritten ? first.writeUnits / first.rowsWritten : 0;
  return {
    title: `Cost per case (US$ per million), ${result.accounts} accounts and ${result.transactionsStored.toLocaleString("en-US")} transactions, vs its floor`,
    figureLabel: "measured",
    baselineLabel: "floor",
    rows: CASES.map(({ key, label }) => ({
      metric: label,
      figure: result[key].costUsd * 1e6,
      baseline: result.floors[key].costUsd * 1e6,
      digits: 1,
    })),
    notes: [
      ...goals,
      "Floor: the same MX calls (their latency billed in one Lambda), the same API requests, each changed row",
      "  written once at 1 WRU (or read once, eventually consistent), no workflow, queue, index, change log or CPU.",
      `Connection: ${first.writeUnits.toLocaleString("en-US")} WRU for ${first.rowsWritten.toLocaleString("en-US")} rows (${perRow.toFixed(2)} a row: the row, its date-index copy, its change-log entry),`,
      `  ${first.stateTransitions} state transitions, ${first.lambdaInvocations} Lambda invocations; foreground refresh: ${result.foregroundRefresh.stateTransitions} transitions.`,
    ],
  };
}

export async function benchRefresh(mxLatencyMs = 250): Promise<BenchTable[]> {
  const result = await runInChild<RefreshCostResult>(REFRESH_COST, ["--mx-latency-ms", String(mxLatencyMs)]);
  const how = [
    `Member: ${result.accounts} accounts, ${result.transactionsStored.toLocaleString("en-US")} transactions in MX's 90 days, ~${(result.transactionsPerAccount / 365).toFixed(1)} new a day per account.`,
    `Billed Lambda ms = handler time measured here + ${result.mxLatencyMs} ms assumed per MX call; ${result.lambdaMemoryMb} MB arm64;`,
    "  prices: local/bench/prices.ts. First sync = POST /v1/members, the workflow to its end, and the webhook MX",
    "  sends for that aggregation (its consumer sees the run's data and stops). WRU include index and changes-log writes.",
  ];
  return [
    costTable(result),
    {
      title:
        "Background refresh, a day of new data (MX's webhook) vs first sync, same member (embedded stack)",
      figureLabel: "webhook refresh",
      baselineLabel: "first sync",
      rows: rows(result.dayOfNewData, result.firstSync),
      notes: [
        "Webhook refresh: API Gateway → webhook Lambda → SQS → consumer: MX status, accounts,",
        "  transactions MX updated since the stored data, the days that held pending rows; no aggregate.",
        ...how,
      ],
    },
    {
      title: "Background refresh, nothing new (the sweep) vs first sync, same member (embedded stack)",
      figureLabel: "sweep check",
      baselineLabel: "first sync",
      rows: rows(result.nothingNew, result.firstSync),
      notes: [
        "Sweep Lambda → SQS → consumer: one MX status call, MX's data time unchanged, nothing written.",
      ],
    },
    {
      title: "Foreground refresh (POST /v1/members/{guid}/sync) vs first sync, same member (embedded stack)",
      figureLabel: "foreground",
      baselineLabel: "first sync",
      rows: rows(result.foregroundRefresh, result.firstSync),
      notes: [
        "The workflow asks MX to aggregate (past MX's 3-hour rule), polls, reads accounts and what changed.",
        "  Locally MX aggregates in 30 ms: in AWS, with aggregations of tens of seconds, it polls more.",
      ],
    },
  ];
}

// The background refresh (MX's webhook after its daily aggregation; the sweep when MX has nothing new)
// beside the first sync of the same member: MX calls, rows written and AWS cost, counted on the embedded
// stack over HTTP by refresh-cost.ts in its own process.
import { fileURLToPath } from "node:url";
import { runInChild } from "./child";
import type { CaseCost, RefreshCostResult } from "./refresh-cost";
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

export async function benchRefresh(mxLatencyMs = 250): Promise<BenchTable[]> {
  const result = await runInChild<RefreshCostResult>(REFRESH_COST, ["--mx-latency-ms", String(mxLatencyMs)]);
  const perDay = Math.max(1, Math.round(result.transactionsPerAccount / 365));
  const how = [
    `Member: 3 accounts, ${perDay} new transactions a day each (sandbox: MX's 90 days visible at the first sync).`,
    `Billed Lambda ms = handler time measured here + ${result.mxLatencyMs} ms assumed per MX call; ${result.lambdaMemoryMb} MB arm64;`,
    "  prices: local/bench/prices.ts. First sync = POST /v1/members, the workflow to its end, and the webhook MX",
    "  sends for that aggregation (its consumer sees the run's data and stops). WRU include index and changes-log writes.",
  ];
  return [
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
  ];
}

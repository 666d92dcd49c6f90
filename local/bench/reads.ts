// Table 7, reads: a 100-row transactions page of an account holding 100,000 rows, through the local API
// beside the raw DynamoDB Query that serves it. Measured by reads-run.ts in its own process.
import { fileURLToPath } from "node:url";
import { runInChild } from "./child";
import type { ReadsOptions, ReadsResult } from "./reads-run";
import type { BenchTable } from "./table";

const READS_RUN = fileURLToPath(new URL("./reads-run.ts", import.meta.url));

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * share) - 1))] ?? 0;
}

export async function benchReads(options: ReadsOptions = {}): Promise<BenchTable[]> {
  const args = [
    ...(options.rows !== undefined ? ["--rows", String(options.rows)] : []),
    ...(options.reads !== undefined ? ["--reads", String(options.reads)] : []),
  ];
  const r = await runInChild<ReadsResult>(READS_RUN, args);
  const rows = r.rows.toLocaleString("en-US");
  return [
    {
      title: `Reads: a ${r.pageSize}-row transactions page of an account holding ${rows} rows (ms)`,
      figureLabel: "local API",
      baselineLabel: "raw Query",
      rows: [
        { metric: "p50", figure: percentile(r.apiMs, 0.5), baseline: percentile(r.rawMs, 0.5), digits: 2 },
        { metric: "p99", figure: percentile(r.apiMs, 0.99), baseline: percentile(r.rawMs, 0.99), digits: 2 },
      ],
      notes: [
        `${r.reads} reads of each kind at random pages (seeded), alternating, after 20 of each to warm up; the page is`,
        "  reached through the cursor the store issued for it. Local API: GET /v1/accounts/{guid}/transactions?limit=100",
        "  over HTTP (JWT authorizer, the Lambda handler, the account check (GetItem), the Query, each row parsed, JSON).",
        "  Raw: the same Query (date index, newest first, Limit 100, the cursor's key as ExclusiveStartKey).",
        `Seeded in ${r.seedSeconds.toFixed(1)} s (not timed): the store's own rows (transactionItem), BatchWriteItem, no change log.`,
        "In AWS, API Gateway and Lambda add their own latency to the API column; the raw column is the floor.",
      ],
    },
  ];
}

// Whole first sync of a large member through the real local workflow (the synthesized state machine, the
// real handlers, the MX sandbox and dynalite), with the product's transactions Map concurrency versus a
// stack synthesized with MaxConcurrency 1. Each variant runs in its own process (one embedded stack per
// process): sync-run.ts. The background refresh is compared with a first sync in refresh.ts.
import { fileURLToPath } from "node:url";
import { runInChild } from "./child";
import type { RunFigures, SyncRunOptions, SyncRunResult } from "./sync-run";
import type { BenchRow, BenchTable } from "./table";

const SYNC_RUN = fileURLToPath(new URL("./sync-run.ts", import.meta.url));

/** Runs sync-run.ts in a child process and returns what it sends back over IPC. */
function runVariant(options: SyncRunOptions): Promise<SyncRunResult> {
  const args = [
    ...(options.pageConcurrency !== undefined ? ["--page-concurrency", String(options.pageConcurrency)] : []),
    ...(options.repeats !== undefined ? ["--repeats", String(options.repeats)] : []),
    ...(options.accounts !== undefined ? ["--accounts", String(options.accounts)] : []),
    ...(options.transactions !== undefined ? ["--transactions", String(options.transactions)] : []),
    ...(options.mxLatencyMs !== undefined ? ["--mx-latency-ms", String(options.mxLatencyMs)] : []),
  ];
  return runInChild<SyncRunResult>(SYNC_RUN, args);
}

/** A run that did not end SYNCED measures nothing worth printing. */
function synced(run: RunFigures | undefined, what: string): RunFigures {
  if (run?.status !== "SUCCEEDED" || run.outcome !== "SYNCED")
    throw new Error(
      `${what}: the run did not end SYNCED (${run?.status ?? "no run"}, ${run?.outcome ?? "-"})`,
    );
  return run;
}

export interface SyncBenchOptions {
  accounts?: number;
  transactions?: number;
  /** The sandbox's added latency per MX request, as in the brief (default 30 ms). */
  mxLatencyMs?: number;
  /** A slower MX, where the Map's concurrency shows (default 500 ms; 0 skips it). */
  slowMxLatencyMs?: number;
  /** Measured first syncs per variant; wall time is their median (default 3). */
  repeats?: number;
}

export async function benchSync(options: SyncBenchOptions = {}): Promise<BenchTable[]> {
  const accounts = options.accounts ?? 3;
  const transactions = options.transactions ?? 5_000;
  const mxLatencyMs = options.mxLatencyMs ?? 30;
  const slowMxLatencyMs = options.slowMxLatencyMs ?? 500;
  const repeats = options.repeats ?? 3;
  const size = { accounts, transactions, repeats };

  // Sequential, baseline first, so the variants never share the 2 cores.
  const baseline = await runVariant({ ...size, mxLatencyMs, pageConcurrency: 1 });
  const product = await runVariant({ ...size, mxLatencyMs });
  const slow =
    slowMxLatencyMs > 0
      ? {
          baseline: await runVariant({ ...size, mxLatencyMs: slowMxLatencyMs, pageConcurrency: 1 }),
          product: await runVariant({ ...size, mxLatencyMs: slowMxLatencyMs }),
        }
      : undefined;

  const first = synced(product.initial, "first sync, product");
  const firstBaseline = synced(baseline.initial, "first sync, concurrency 1");
  const runs = (result: SyncRunResult) => result.initialWallSeconds.map((s) => s.toFixed(2)).join(", ");
  const rows: BenchRow[] = [
    {
      metric: `wall time, MX +${mxLatencyMs} ms/request (s)`,
      figure: first.wallSeconds,
      baseline: firstBaseline.wallSeconds,
      digits: 2,
    },
  ];
  if (slow) {
    rows.push({
      metric: `wall time, MX +${slowMxLatencyMs} ms/request (s)`,
      figure: synced(slow.product.initial, "first sync, product, slow MX").wallSeconds,
      baseline: synced(slow.baseline.initial, "first sync, concurrency 1, slow MX").wallSeconds,
      digits: 2,
    });
  }
  rows.push(
    { metric: "MX requests", figure: first.mxRequests, baseline: firstBaseline.mxRequests },
    { metric: "transaction windows (≤180 days)", figure: first.windows, baseline: firstBaseline.windows },
    { metric: "transaction pages read", figure: first.pagesRead, baseline: firstBaseline.pagesRead },
    {
      metric: "transactions stored (DynamoDB count)",
      figure: first.transactionsStored,
      baseline: firstBaseline.transactionsStored,
    },
    {
      metric: "largest state payload (bytes)",
      figure: first.largestStateBytes,
      baseline: firstBaseline.largestStateBytes,
    },
    { metric: "execution output (bytes)", figure: first.outputBytes, baseline: firstBaseline.outputBytes },
  );
  const total = (accounts * transactions).toLocaleString("en-US");
  const firstSync: BenchTable = {
    title: `First sync with extended history, ${accounts} accounts × ${transactions.toLocaleString("en-US")} = ${total} transactions (local workflow)`,
    figureLabel: `Map concurrency ${product.mapMaxConcurrency ?? "?"}`,
    baselineLabel: `Map concurrency ${baseline.mapMaxConcurrency ?? "?"}`,
    rows,
    notes: [
      `Wall time: median of ${repeats} first syncs per variant, each of a fresh member, after a warm-up sync;`,
      `  MX +${mxLatencyMs} ms runs (s): ${runs(product)} vs ${runs(baseline)}${
        slow ? `; +${slowMxLatencyMs} ms: ${runs(slow.product)} vs ${runs(slow.baseline)}` : ""
      }.`,
      "Synthesized with -c extendedHistory=true: after the aggregation the first sync asks MX for extended",
      "  history (the sandbox then shows its whole year), then reads INITIAL_HISTORY_DAYS (730) back in windows",
      "  of ≤180 days, newest first, one window at a time; the pages of a window run in the Map.",
      "MaxConcurrency as read back from each synthesized definition the runner executed.",
      "Everything runs in one process here (handlers, dynalite, sandbox share a thread): CPU-bound work",
      "does not overlap, MX round trips do. In AWS each page is its own Lambda, so pages overlap fully.",
      "The state carries counts only: Step Functions' limit is 256 KB per state.",
    ],
  };

  return [firstSync];
}

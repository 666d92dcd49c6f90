// Storage writes: putTransactions (BatchWriteItem, 25 items a call) at the product's 4 calls in flight
// versus 1, against dynalite; measured by benchStorage() (local/bench-storage.ts).
import { benchStorage } from "../bench-storage";
import type { BenchTable } from "./table";

export async function benchStorageTable(
  options: { count?: number; latencyCount?: number; latencyMs?: number } = {},
): Promise<BenchTable> {
  const count = options.count ?? 10_000;
  const latencyCount = options.latencyCount ?? 2_500;
  const latencyMs = options.latencyMs ?? 20;
  const results = await benchStorage({ count, latencyCount, latencyMs, concurrencies: [1, 4] });
  const figure = (key: string): number => {
    const value = results[key];
    if (value === undefined) throw new Error(`benchStorage did not report ${key}`);
    return value;
  };
  const prefix = "storage.putTransactions";
  return {
    title: "Storage writes (putTransactions → BatchWriteItem)",
    figureLabel: "concurrency 4",
    baselineLabel: "concurrency 1",
    rows: [
      {
        metric: `items/s, in-process dynalite (${count.toLocaleString("en-US")} items)`,
        figure: figure(`${prefix}.concurrency4.itemsPerSecond`),
        baseline: figure(`${prefix}.concurrency1.itemsPerSecond`),
      },
      {
        metric: `items/s, ${latencyMs} ms simulated round trip (${latencyCount.toLocaleString("en-US")} items)`,
        figure: figure(`${prefix}.rtt${latencyMs}ms.concurrency4.itemsPerSecond`),
        baseline: figure(`${prefix}.rtt${latencyMs}ms.concurrency1.itemsPerSecond`),
      },
    ],
    notes: [
      "In-process dynalite shares one thread with the client: CPU-bound, concurrency cannot help much.",
      "With a round trip per call (as DynamoDB from Lambda), writes are latency-bound: what concurrency buys in AWS.",
    ],
  };
}

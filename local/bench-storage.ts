// Measures transaction writes (putTransactions → BatchWriteItem) against dynalite at concurrency 1 vs 4.
// Run alone: `npx tsx local/bench-storage.ts [count]`; composed by local/bench.ts via benchStorage().
import "./polyfills";
import { pathToFileURL } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Transaction } from "../shared/mx/schemas";
import { createStores } from "../shared/storage/dynamo";
import { createTable, LOCAL_AWS, startDynamo } from "./dynamo";

function transactions(count: number, accountGuid: string): Transaction[] {
  return Array.from({ length: count }, (_, i) => ({
    guid: `TRN-${accountGuid}-${i}`,
    account_guid: accountGuid,
    member_guid: "MBR-bench",
    amount: -((i % 9000) / 100 + 1),
    currency_code: "USD",
    date: new Date(Date.UTC(2024, 0, 1) + (i % 730) * 86_400_000).toISOString().slice(0, 10),
    description: `Bench purchase ${i}`,
    original_description: `POS PURCHASE ${i} SOMEWHERE`,
    status: i % 50 === 0 ? "PENDING" : "POSTED",
    type: "DEBIT",
    category: "Shopping",
    transacted_at: "2024-01-01T12:00:00Z",
  }));
}

/**
 * Items per second written by putTransactions at each concurrency, fresh table each, same dynalite:
 * - raw: dynalite in this process is CPU-bound (client and server share one thread), so concurrency barely
 *   helps here;
 * - with a simulated round trip (default 20 ms a call, as to DynamoDB from Lambda), where real DynamoDB is
 *   latency-bound: this is what the concurrency buys in AWS.
 */
export async function benchStorage(
  options: { count?: number; latencyCount?: number; concurrencies?: number[]; latencyMs?: number } = {},
): Promise<Record<string, number>> {
  const count = options.count ?? 10_000;
  const latencyCount = options.latencyCount ?? 2_500;
  const latencyMs = options.latencyMs ?? 20;
  const concurrencies = options.concurrencies ?? [1, 4];
  const results: Record<string, number> = {};
  const dynamo = await startDynamo();
  try {
    const runs = [
      ...concurrencies.map((concurrency) => ({ concurrency, latency: 0, count })),
      ...concurrencies.map((concurrency) => ({ concurrency, latency: latencyMs, count: latencyCount })),
    ];
    for (const run of runs) {
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: LOCAL_AWS.region,
        credentials: { accessKeyId: LOCAL_AWS.accessKeyId, secretAccessKey: LOCAL_AWS.secretAccessKey },
      });
      if (run.latency > 0) {
        client.middlewareStack.add(
          (next) => async (args) => {
            await new Promise((resolve) => setTimeout(resolve, run.latency));
            return next(args);
          },
          { step: "finalizeRequest", name: "simulatedLatency" },
        );
      }
      try {
        const tableName = `bench-c${run.concurrency}-l${run.latency}`;
        await createTable(dynamo.client, tableName);
        const doc = DynamoDBDocumentClient.from(client);
        const stores = createStores({ doc, tableName, batch: { concurrency: run.concurrency } });
        await stores.members.putMember({
          userId: "bench",
          mxUserGuid: "USR-bench",
          memberGuid: "MBR-bench",
          institutionCode: "mxbank",
          isOauth: false,
          identify: false,
        });
        const rows = transactions(run.count, `ACT-${tableName}`);
        const started = performance.now();
        const written = await stores.bankData.putTransactions("bench", "MBR-bench", rows, "bench-run");
        const seconds = (performance.now() - started) / 1000;
        const label = run.latency > 0 ? `.rtt${run.latency}ms` : "";
        results[`storage.putTransactions${label}.concurrency${run.concurrency}.itemsPerSecond`] = Math.round(
          written / seconds,
        );
      } finally {
        client.destroy();
      }
    }
  } finally {
    await dynamo.close();
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 10_000);
  for (const [name, value] of Object.entries(await benchStorage({ count }))) {
    console.log(`${name}: ${value}`);
  }
}

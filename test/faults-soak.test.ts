// The fault soak: many first syncs on the embedded stack while everything around them misbehaves, each
// fault injected by configuration (never a branch in the product's code):
//   - MX (the sandbox's fault knobs, seeded): 10 % 5xx, bursts of 429, slow answers, answers cut off mid-body;
//   - Lambda: a transactions-page invocation crashes (Lambda.Unknown) when it sends its first DynamoDB write,
//     after its MX read (the local runner's crash injection), on its first attempt of chosen pages;
//   - DynamoDB (a throttling proxy between the handlers and dynalite, seeded): requests answered
//     ProvisionedThroughputExceededException, batches half written with the rest unprocessed, and batches
//     throttled longer than the batch writer's attempts (BatchWriteError reaches the state machine).
// Every sync must end in a named outcome, and every member's stored accounts and transactions must equal
// MX's exactly (nothing lost, nothing twice). One line of figures is printed. SOAK_SYNCS sets the count.
import { randomUUID } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hash32 } from "../local/sandbox/prng";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import type { LambdaTarget } from "../local/workflow";
import type { SyncRequest } from "../shared/sync/contract";
import { checkAgainstMx } from "./bank-truth";

const SYNCS = Number(process.env.SOAK_SYNCS ?? 100);
const AT_ONCE = 20;
const SEED = 11;
const CRASH_RATE = 0.15;

let stack: LocalStack;

/** `work` over `items`, AT_ONCE at a time, results in order. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += AT_ONCE) {
    results.push(...(await Promise.all(items.slice(i, i + AT_ONCE).map(work))));
  }
  return results;
}
const crashed = new Set<string>();
let crashes = 0;

/** The first attempt of chosen page reads crashes (seeded by the page's input); its retry does not. */
const lambdaFaults = {
  crashAtFirstWrite(target: LambdaTarget, event: unknown) {
    if (!("entry" in target) || target.entry !== "functions/sync-transactions-page.ts") return false;
    const key = JSON.stringify(event);
    if (crashed.has(key) || hash32(SEED, key) / 2 ** 32 >= CRASH_RATE) return false;
    crashed.add(key);
    return true;
  },
  onCrash() {
    crashes += 1;
  },
};

beforeAll(async () => {
  stack = await startLocalStack({
    // Small members whose transactions span several pages (MX serves 10 a page here).
    sandbox: {
      seed: SEED,
      aggregationMs: 20,
      accountsPerMember: 2,
      transactionsPerAccount: 60,
      pendingPerAccount: 2,
      maxTransactionsPerPage: 10,
    },
    waitScale: 0.002,
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
    faults: {
      lambda: lambdaFaults,
      dynamo: {
        seed: SEED,
        throttleRate: 0.03,
        unprocessedRate: 0.1,
        sustainedRate: 0.03,
        sustainedCalls: 8,
      },
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("syncs under faults", () => {
  it("end each in a named outcome and store exactly what MX holds", async () => {
    // Prepare: the members, while MX behaves; then MX's faults
    const sandbox = stack.sandbox;
    if (!sandbox) throw new Error("this test needs the sandbox");
    const cpuAtStart = process.cpuUsage();
    const startedAt = Date.now();
    const requests: SyncRequest[] = await inBatches(
      Array.from({ length: SYNCS }, (_, i) => i),
      async (i) =>
        (await connectMxbankMember({ mx: stack.mx, members: stack.stores.members }, `good-${i}`)).request,
    );
    const statusBefore = { ...sandbox.stats().byStatus };
    sandbox.setKnobs({
      faults: {
        rate5xx: 0.1,
        burst429Rate: 0.01,
        burst429Length: 4,
        slowRate: 0.05,
        slowMs: 100,
        dropRate: 0.03,
      },
    });

    // Act: AT_ONCE syncs at a time
    const syncsFrom = Date.now();
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    const retriesByError: Record<string, number> = {};
    const queue = [...requests];
    const worker = async () => {
      for (let request = queue.shift(); request; request = queue.shift()) {
        const { executionArn } = stack.workflow.startExecution(request, `soak-${randomUUID()}`);
        const result = await stack.workflow.waitForExecution(executionArn);
        const outcome =
          result.status === "SUCCEEDED"
            ? String((result.output as { outcome?: unknown } | undefined)?.outcome)
            : `execution ${result.status} (${result.error})`;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (outcome !== "SYNCED") {
          const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
          failures.push(`${request.memberGuid}: ${outcome}: ${member?.sync.reason ?? result.cause}`);
        }
        const events = stack.workflow.stepFunctions.history(executionArn);
        events.forEach((event, i) => {
          if (event.type !== "StateRetried") return;
          const failed = events.slice(0, i).findLast((e) => e.type === "StateFailed");
          const name = failed && "Error" in failed ? String(failed.Error) : "unknown";
          retriesByError[name] = (retriesByError[name] ?? 0) + 1;
        });
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, worker));

    const syncSeconds = (Date.now() - syncsFrom) / 1000;

    // Assess: MX quiet again, every member against MX's truth
    sandbox.setKnobs({
      faults: { rate5xx: 0, burst429Rate: 0, slowRate: 0, dropRate: 0 },
      maxTransactionsPerPage: 1000,
    });
    const mxFaults = sandbox.faultsInjected();
    const statusAfter = sandbox.stats().byStatus;
    const answered = (status: number) => (statusAfter[status] ?? 0) - (statusBefore[status] ?? 0);
    const checks = await inBatches(requests, async (request) => ({
      request,
      ...(await checkAgainstMx({ mx: stack.mx, stores: stack.stores }, request)),
    }));
    const rows = checks.reduce((sum, check) => sum + check.rows, 0);
    const mismatches = checks.flatMap((c) => c.mismatches.map((m) => `${c.request.memberGuid}: ${m}`));
    const cpu = process.cpuUsage(cpuAtStart);
    const dynamoFaults = stack.dynamo.faultCounts();
    const workflowRetries = Object.values(retriesByError).reduce((a, b) => a + b, 0);
    console.log(
      `fault soak: syncs ${SYNCS} (${Object.entries(outcomes)
        .map(([o, n]) => `${o} ${n}`)
        .join(", ")}), faults injected: MX 5xx ${answered(500) + answered(503)}, MX 429 ${answered(429)}, ` +
        `MX slow ${mxFaults.slow}, MX dropped mid-body ${mxFaults.dropped}, Lambda crashes ${crashes}, ` +
        `DynamoDB throttled ${dynamoFaults.throttled}, partial batches ${dynamoFaults.partialBatches}, ` +
        `sustained-throttle batch calls ${dynamoFaults.sustainedBatchCalls}; workflow retries ${workflowRetries} ` +
        `(${Object.entries(retriesByError)
          .map(([e, n]) => `${e} ${n}`)
          .join(
            ", ",
          )}); rows checked ${rows}, mismatches ${mismatches.length}; syncs took ${syncSeconds.toFixed(1)} s, ` +
        `the test ${((Date.now() - startedAt) / 1000).toFixed(1)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s ` +
        `(load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores)`,
    );
    expect(failures).toEqual([]);
    expect(outcomes).toEqual({ SYNCED: SYNCS });
    expect(mismatches).toEqual([]);
    expect(rows).toBeGreaterThan(SYNCS * 10);
    // Every kind of fault was injected, and the state machine retried what reached it.
    expect(crashes).toBeGreaterThan(0);
    expect(retriesByError["Lambda.Unknown"]).toBe(crashes);
    expect(retriesByError.BatchWriteError ?? 0).toBeGreaterThan(0);
    expect(answered(500) + answered(503)).toBeGreaterThan(0);
    expect(answered(429)).toBeGreaterThan(0);
    expect(mxFaults.slow).toBeGreaterThan(0);
    expect(mxFaults.dropped).toBeGreaterThan(0);
    expect(dynamoFaults.throttled).toBeGreaterThan(0);
    expect(dynamoFaults.partialBatches).toBeGreaterThan(0);
  }, 600_000);
});

// A fleet swept (issue #13's table 6): N connected members (default 10,000) seeded into the sandbox
// (seedConnectedMembers, no HTTP) and into dynalite through the store ports, then the real sweep Lambda and
// the real queue consumer on the embedded stack, once with MX healthy (the baseline) and once with 5 % of
// MX requests failing (429 or 5xx, the sandbox's fault knobs). MX has nothing new for these members: the
// sweep's common case (webhooks bring the news). Its own process: one embedded stack per process.
//
//   npx tsx local/bench/fleet.ts [--members 10000] [--fault-rate 0.05]    # JSON
import "../polyfills";
import { resourceUsage } from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as z from "zod";
import { BACKGROUND_REFRESH } from "../../shared/refresh/settings";
import type { SeededMember } from "../sandbox";
import { startLocalStack } from "../stack";
import { runInChild } from "./child";
import type { BenchRow, BenchTable } from "./table";

export interface SweepFigures {
  faultRate: number;
  wallSeconds: number;
  /** Largest resident set sampled during the sweep (MB). */
  peakRssMb: number;
  mxRequests: number;
  mxFaults: number;
  consumerInvocations: number;
  sqsRequests: number;
  /** Messages left in the dead-letter queue (gave up after maxReceiveCount). */
  deadLettered: number;
  /** Sync workflow executions started during the sweep (the background path starts none). */
  executionsStarted: number;
}

export interface FleetResult {
  members: number;
  seedSeconds: number;
  /** The process's peak resident set over the whole run (resourceUsage().maxRSS, MB). */
  maxRssMb: number;
  baseline: SweepFigures;
  faulty: SweepFigures;
}

const optionsSchema = z.object({
  members: z.coerce.number().int().min(10).max(100_000).default(10_000),
  faultRate: z.coerce.number().min(0).max(0.5).default(0.05),
});

/** Runs `act`, sampling the resident set every 50 ms: the peak in MB. */
async function withPeakRss<T>(act: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  try {
    const result = await act();
    return { result, peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `task` over `items` with `limit` in flight. */
async function inPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await task(item);
      }
    }),
  );
}

export async function measureFleet(options: z.input<typeof optionsSchema> = {}): Promise<FleetResult> {
  const { members, faultRate } = optionsSchema.parse(options);
  process.env.LOG_LEVEL = "SILENT";
  // One account of a few transactions: the sweep reads none of it when MX has nothing new.
  const stack = await startLocalStack({
    sandbox: { aggregationMs: 10, accountsPerMember: 1, transactionsPerAccount: 10 },
  });
  try {
    const { sandbox, stores } = stack;
    if (!sandbox)
      throw new Error("The fleet needs the MX sandbox (unset MX_BASE_URL/MX_CLIENT_ID/MX_API_KEY)");
    const seedStarted = performance.now();
    const seeded = sandbox.seedConnectedMembers(members, "fleet");
    // As the first sync leaves each member: stored, SYNCED with MX's data time, in the sweep's index.
    // Two writes a member: stored as a run left it mid-sync (holding the lease), then that run's SYNCED end.
    await inPool(seeded, 8, async (m: SeededMember) => {
      const run = `seed-${m.memberGuid}`;
      const now = new Date();
      await stores.members.putMember({
        userId: m.userId,
        mxUserGuid: m.userGuid,
        memberGuid: m.memberGuid,
        institutionCode: "mxbank",
        isOauth: false,
        identify: false,
        connectionStatus: "CONNECTED",
        sync: { status: "CONNECTING", syncRun: run, leaseExpiresAt: now.getTime() + 60_000 },
      });
      const finished = await stores.members.finishSync(m.userId, m.memberGuid, run, {
        status: "SYNCED",
        outcome: "SYNCED",
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
        lastSyncedAt: now.toISOString(),
        dataAsOf: m.aggregatedAt,
      });
      if (!finished) throw new Error(`Could not record ${m.memberGuid} as synced`);
    });
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const queue = stack.refresh.queueName;
    const dlq = stack.refresh.deadLetterQueueName;
    const sweep = async (rate: number): Promise<SweepFigures> => {
      sandbox.setKnobs({ faults: { rate429: rate / 2, rate5xx: rate / 2 } });
      const before = {
        mx: sandbox.stats(),
        sqs: stack.aws.sqs.usage(queue),
        executions: stack.workflow.stepFunctions.listExecutions({
          stateMachineArn: stack.workflow.stateMachineArn,
        }).executions.length,
      };
      const started = performance.now();
      const { peakRssMb } = await withPeakRss(async () => {
        await stack.refresh.sweep();
        await stack.refresh.drain(600_000);
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const after = { mx: sandbox.stats(), sqs: stack.aws.sqs.usage(queue) };
      const faults = (stats: ReturnType<typeof sandbox.stats>) =>
        Object.entries(stats.byStatus)
          .filter(([status]) => status === "429" || status.startsWith("5"))
          .reduce((sum, [, count]) => sum + count, 0);
      sandbox.setKnobs({ faults: { rate429: 0, rate5xx: 0 } });
      return {
        faultRate: rate,
        wallSeconds,
        peakRssMb,
        mxRequests: after.mx.requests - before.mx.requests,
        mxFaults: faults(after.mx) - faults(before.mx),
        consumerInvocations: after.sqs.invocations - before.sqs.invocations,
        sqsRequests: after.sqs.requests - before.sqs.requests,
        deadLettered: stack.aws.sqs.messages(dlq).length,
        executionsStarted:
          stack.workflow.stepFunctions.listExecutions({ stateMachineArn: stack.workflow.stateMachineArn })
            .executions.length - before.executions,
      };
    };
    const baseline = await sweep(0);
    const faulty = await sweep(faultRate);
    return { members, seedSeconds, maxRssMb: resourceUsage().maxRSS / 1024, baseline, faulty };
  } finally {
    await stack.close();
  }
}

const FLEET = fileURLToPath(import.meta.url);

export async function benchFleet(members = 10_000, faultRate = 0.05): Promise<BenchTable[]> {
  const result = await runInChild<FleetResult>(FLEET, [
    "--members",
    String(members),
    "--fault-rate",
    String(faultRate),
  ]);
  const { faulty, baseline } = result;
  const n = result.members;
  const perSecond = (s: SweepFigures) => n / s.wallSeconds;
  const rows: BenchRow[] = [
    {
      metric: "wall time, sweep + queue drained (s)",
      figure: faulty.wallSeconds,
      baseline: baseline.wallSeconds,
      digits: 1,
    },
    {
      metric: "members checked a second (local)",
      figure: perSecond(faulty),
      baseline: perSecond(baseline),
      digits: 0,
    },
    {
      metric: "peak RSS during the sweep (MB)",
      figure: faulty.peakRssMb,
      baseline: baseline.peakRssMb,
      digits: 0,
    },
    {
      metric: "MX requests per member",
      figure: faulty.mxRequests / n,
      baseline: baseline.mxRequests / n,
      digits: 3,
    },
    { metric: "MX faults answered (429/5xx)", figure: faulty.mxFaults, baseline: baseline.mxFaults },
    {
      metric: "consumer invocations",
      figure: faulty.consumerInvocations,
      baseline: baseline.consumerInvocations,
    },
    { metric: "SQS requests", figure: faulty.sqsRequests, baseline: baseline.sqsRequests },
    { metric: "messages dead-lettered", figure: faulty.deadLettered, baseline: baseline.deadLettered },
    {
      metric: "workflow executions started",
      figure: faulty.executionsStarted,
      baseline: baseline.executionsStarted,
    },
  ];
  const { sweepMembersPerSecond, sweepMaxMembersPerSecond, maxConcurrency, batchSize, sweepEveryHours } =
    BACKGROUND_REFRESH;
  return [
    {
      title: `A fleet of ${n.toLocaleString("en-US")} connected members swept, ${faulty.faultRate * 100} % MX faults vs none (embedded stack)`,
      figureLabel: `${faulty.faultRate * 100} % faults`,
      baselineLabel: "no faults",
      rows,
      notes: [
        `Seeded in ${result.seedSeconds.toFixed(1)} s (sandbox in memory; dynalite through the store ports); process peak RSS ${result.maxRssMb.toFixed(0)} MB.`,
        "The real sweep Lambda and refresh consumer; MX has nothing new (one status call a member, retried on a fault).",
        "Locally one consumer batch at a time and SQS delays ×0.001; in AWS the sweep enqueues",
        `  ${sweepMembersPerSecond}–${sweepMaxMembersPerSecond} members/s (SQS DelaySeconds; the pace follows the last sweep's count): ${n.toLocaleString("en-US")} in ${(n / sweepMembersPerSecond / 60).toFixed(1)} min, ≤ ${maxConcurrency} consumers of ${batchSize} messages;`,
        `  a million: ${(1e6 / sweepMaxMembersPerSecond / 3600).toFixed(1)} h a sweep at the cap against a ${sweepEveryHours} h cadence (see README, Performance).`,
        "Background refreshes start no Step Functions execution: only a user's create/sync/reconnect does.",
      ],
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { members: { type: "string" }, "fault-rate": { type: "string" } },
  });
  const result = await measureFleet({ members: values.members, faultRate: values["fault-rate"] });
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

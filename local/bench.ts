// `npm run bench [-- --json] [-- --only storage,ingest,mx-calls,refresh,polling,feed,cold-start,fleet,reads,sync]`: every figure beside a baseline measured in
// the same run, on this machine, offline (loopback only). See local/bench/README.md.
import "./polyfills";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as z from "zod";
import { coldStartTables, measureColdStart } from "./bench/cold-start";
import { benchFeed } from "./bench/feed";
import { benchFleet } from "./bench/fleet";
import { benchIngest } from "./bench/ingest";
import { benchMxCalls } from "./bench/mx-calls";
import { benchPolling } from "./bench/polling";
import { benchReads } from "./bench/reads";
import { benchRefresh } from "./bench/refresh";
import { benchStorageTable } from "./bench/storage";
import { benchSync } from "./bench/sync";
import { type BenchTable, formatTable } from "./bench/table";

// The SDK warns once per process that its Node 20 support ends in 2027; the README states the versions.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/**
 * Members in the fleet table of `npm run bench`: 10,000 (issue #13) takes longer than the bench's budget on
 * 2 cores; `npx tsx local/bench/fleet.ts --members 10000` measures them alone (local/bench/README.md).
 */
const FLEET_BENCH_MEMBERS = 1_000;

const BENCHMARKS = {
  storage: async () => [await benchStorageTable()],
  sync: () => benchSync(),
  ingest: () => benchIngest(),
  "mx-calls": () => benchMxCalls(),
  refresh: () => benchRefresh(),
  polling: async () => benchPolling(),
  feed: async () => [await benchFeed()],
  "cold-start": async () => coldStartTables(await measureColdStart()),
  fleet: () => benchFleet(FLEET_BENCH_MEMBERS),
  reads: () => benchReads(),
} satisfies Record<string, () => Promise<BenchTable[]>>;
type BenchName = keyof typeof BENCHMARKS;
const NAMES = Object.keys(BENCHMARKS) as BenchName[];
/** Run only when named (`--only sync`): the ingest table (issue #13's table 1) supersedes its first sync, in a third of the time. */
const ON_REQUEST: readonly BenchName[] = ["sync"];

const argsSchema = z.object({
  json: z.boolean().default(false),
  only: z
    .string()
    .optional()
    .transform((list) =>
      list ? list.split(",").map((name) => name.trim()) : NAMES.filter((name) => !ON_REQUEST.includes(name)),
    )
    .pipe(z.array(z.enum(NAMES as [BenchName, ...BenchName[]])).min(1)),
});

const { values } = parseArgs({ options: { json: { type: "boolean" }, only: { type: "string" } } });
const parsed = argsSchema.safeParse(values);
if (!parsed.success) {
  console.error(`Usage: npm run bench -- [--json] [--only ${NAMES.join(",")}]`);
  process.exit(2);
}
const args = parsed.data;

const cpu = cpus();
const machine = {
  cores: cpu.length,
  cpu: cpu[0]?.model.trim() ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
};
const date = new Date().toISOString();
console.log(`# mx-connect benchmarks, ${date}`);
// Wall times and throughputs depend on what else the machine runs: the load is printed at both ends.
const load = () => loadavg()[0]?.toFixed(1) ?? "?";
const loadAtStart = load();
console.log(
  `# ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}; load average ${loadAtStart}\n`,
);

const tables: BenchTable[] = [];
for (const name of args.only) {
  const started = performance.now();
  for (const table of await BENCHMARKS[name]()) {
    tables.push(table);
    console.log(`${formatTable(table)}\n`);
  }
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

const loadAtEnd = load();
console.log(`# load average at the end: ${loadAtEnd}`);

if (args.json) {
  const dir = fileURLToPath(new URL("../bench-results", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date, machine, loadAverage: { start: loadAtStart, end: loadAtEnd }, tables }, null, 2)}\n`,
  );
  console.log(`Wrote ${file}`);
}

// Cold start: every function's bundle as `cdk synth` builds it (esbuild with infra/bundling.ts's options,
// the ones MxFunction deploys with), its size and the time a fresh Node process takes to import it, beside
// a floor built the same way: one DynamoDB GetItem with the same SDK (floor-get-item.ts).
//
//   npx tsx local/bench/cold-start.ts [--runs 7]     # the per-function figures and top contributors, JSON
import "../polyfills";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";
import { type BuildOptions, build, type Metafile } from "esbuild";
import * as z from "zod";
import { LAMBDA_BUNDLING } from "../../infra/bundling";
import { ENTRY_METADATA_KEY } from "../../infra/metadata";
import { type CfnTemplate, synthesizeTemplate } from "../workflow/template";
import type { BenchRow, BenchTable } from "./table";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FLOOR_ENTRY = "local/bench/floor-get-item.ts";

/**
 * Stand-ins for the template's tokens (Refs, GetAtts), which only CloudFormation resolves, by the type of
 * resource they name: the modules parse their configuration at import, so each needs a value of its shape.
 */
const REF_STAND_INS: Record<string, (logicalId: string) => string> = {
  "AWS::DynamoDB::GlobalTable": (id) => id,
  "AWS::DynamoDB::Table": (id) => id,
  "AWS::Events::EventBus": (id) => id,
  "AWS::SecretsManager::Secret": (id) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`,
  "AWS::SQS::Queue": (id) => `https://sqs.us-east-1.amazonaws.com/123456789012/${id}`,
  "AWS::StepFunctions::StateMachine": (id) => `arn:aws:states:us-east-1:123456789012:stateMachine:${id}`,
};
const GET_ATT_STAND_INS: Record<string, (logicalId: string) => string> = {
  ApiEndpoint: (id) => `https://${id.toLowerCase()}.execute-api.us-east-1.amazonaws.com`,
};

function standIn(value: unknown, template: CfnTemplate): string | undefined {
  if (typeof value === "string") return value;
  const { Ref: ref, "Fn::GetAtt": getAtt } = (value ?? {}) as { Ref?: unknown; "Fn::GetAtt"?: unknown };
  if (typeof ref === "string") {
    const type = template.Resources[ref]?.Type;
    return type ? REF_STAND_INS[type]?.(ref) : undefined;
  }
  if (Array.isArray(getAtt) && typeof getAtt[0] === "string" && typeof getAtt[1] === "string")
    return GET_ATT_STAND_INS[getAtt[1]]?.(getAtt[0]);
  return undefined;
}

/** What the NodejsFunction bundling options mean to esbuild (CDK passes them as CLI flags, one by one). */
export function esbuildOptions(bundling: BundlingOptions, entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    outfile,
    ...(bundling.target ? { target: bundling.target } : {}),
    ...(bundling.format ? { format: bundling.format } : {}),
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    sourcesContent: bundling.sourcesContent ?? true,
    external: [...(bundling.externalModules ?? [])],
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.mainFields ? { mainFields: [...bundling.mainFields] } : {}),
    metafile: true,
    logLevel: "silent",
  };
}

export interface Contributor {
  /** An npm package (`@aws-sdk/client-dynamodb`) or a project folder (`shared/mx`). */
  name: string;
  bytes: number;
}

export interface BundleFigures {
  entry: string;
  bytes: number;
  /** Median milliseconds to import the bundle in a fresh `node` process, without and with source maps. */
  importMs: number;
  importMsSourceMaps: number;
  /** The same imports' median CPU time (user + system), which other load on the machine hardly moves. */
  importCpuMs: number;
  importCpuMsSourceMaps: number;
  /** The largest contributors to the bundle, per package or project folder (esbuild's metafile). */
  top: Contributor[];
}

export interface ColdStartResult {
  runs: number;
  floor: BundleFigures;
  functions: BundleFigures[];
}

/** `node_modules/@aws-sdk/client-sfn/dist-es/x.js` → `@aws-sdk/client-sfn`; `shared/mx/client.ts` → `shared/mx`. */
function contributorOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at >= 0) {
    const scope = parts[at + 1] ?? "";
    return scope.startsWith("@") ? `${scope}/${parts[at + 2] ?? ""}` : scope;
  }
  return parts.slice(0, Math.min(2, parts.length - 1)).join("/") || input;
}

function topContributors(metafile: Metafile, outfile: string, count = 8): Contributor[] {
  const output = Object.entries(metafile.outputs).find(([path]) => resolve(PROJECT_ROOT, path) === outfile);
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.[1].inputs ?? {})) {
    const name = contributorOf(input);
    sums.set(name, (sums.get(name) ?? 0) + bytesInOutput);
  }
  return [...sums]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

// Wall and CPU time of the import: on a busy machine the wall time waits for a core, the CPU time does not
// (an import is CPU work: parse and evaluate; on an idle machine the two agree).
const importScript = `const c = process.cpuUsage(); const t = performance.now(); await import(process.argv[1]); const w = performance.now() - t; const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([w, (u.user + u.system) / 1000]));`;

/** One fresh process importing the bundle: wall and CPU milliseconds from the import's start to its end. */
function importOnce(
  file: string,
  env: NodeJS.ProcessEnv,
  sourceMaps: boolean,
): { wall: number; cpu: number } {
  const out = execFileSync(
    process.execPath,
    [
      ...(sourceMaps ? ["--enable-source-maps"] : []),
      "--input-type=module",
      "-e",
      importScript,
      pathToFileURL(file).href,
    ],
    { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const [wall, cpu] = z.tuple([z.number(), z.number()]).parse(JSON.parse(out));
  return { wall, cpu };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export async function measureColdStart(runs = 7): Promise<ColdStartResult> {
  const template = await synthesizeTemplate();
  const targets: { entry: string; env: Record<string, string> }[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
    if (typeof entry !== "string") continue;
    const variables = ((resource.Properties?.Environment as { Variables?: Record<string, unknown> })
      ?.Variables ?? {}) as Record<string, unknown>;
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      const literal = standIn(value, template);
      if (literal === undefined)
        throw new Error(`${logicalId}: no stand-in for ${name}: ${JSON.stringify(value)}`);
      env[name] = literal;
    }
    targets.push({ entry, env });
  }
  targets.sort((a, b) => a.entry.localeCompare(b.entry));

  const dir = mkdtempSync(join(tmpdir(), "mx-connect-cold-start-"));
  try {
    const all = [...targets, { entry: FLOOR_ENTRY, env: { TABLE_NAME: "mx-connect-data" } }];
    const built = await Promise.all(
      all.map(async ({ entry, env }, i) => {
        const outfile = join(dir, String(i), "index.mjs");
        const { metafile } = await build(esbuildOptions(LAMBDA_BUNDLING, join(PROJECT_ROOT, entry), outfile));
        if (!metafile) throw new Error(`esbuild gave no metafile for ${entry}`);
        // The Lambda runtime's environment (NODE_OPTIONS is the flag measured separately).
        const { NODE_OPTIONS: _, ...rest } = env;
        const runEnv = {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_LAMBDA_FUNCTION_NAME: "cold-start",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          ...rest,
        };
        type Times = { wall: number; cpu: number }[];
        return { entry, outfile, metafile, env: runEnv, plain: [] as Times, maps: [] as Times };
      }),
    );
    // Round-robin: each run imports every bundle once, so a busy moment on the machine hits all alike.
    for (let run = 0; run < runs; run++) {
      for (const bundle of built) {
        bundle.plain.push(importOnce(bundle.outfile, bundle.env, false));
        bundle.maps.push(importOnce(bundle.outfile, bundle.env, true));
      }
    }
    const figures = built.map(
      (bundle): BundleFigures => ({
        entry: bundle.entry,
        bytes: statSync(bundle.outfile).size,
        importMs: median(bundle.plain.map((t) => t.wall)),
        importMsSourceMaps: median(bundle.maps.map((t) => t.wall)),
        importCpuMs: median(bundle.plain.map((t) => t.cpu)),
        importCpuMsSourceMaps: median(bundle.maps.map((t) => t.cpu)),
        top: topContributors(bundle.metafile, bundle.outfile),
      }),
    );
    const floor = figures.pop();
    if (!floor) throw new Error("The floor bundle was not built");
    return { runs, floor, functions: figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The goals of issue #13: within 1.3× of the floor's size and 1.2× of its import time. */
export const COLD_START_GOALS = { size: 1.3, importTime: 1.2 } as const;

const kb = (bytes: number) => bytes / 1024;
const short = (entry: string) => entry.replace(/^functions\//, "").replace(/\.ts$/, "");

export function coldStartTables(result: ColdStartResult): BenchTable[] {
  const { floor, functions } = result;
  const sizeRows: BenchRow[] = functions.map((f) => ({
    metric: `${short(f.entry)} (KB)`,
    figure: kb(f.bytes),
    baseline: kb(floor.bytes),
    digits: 1,
  }));
  const importRows: BenchRow[] = functions.map((f) => ({
    metric: `${short(f.entry)} (CPU ms)`,
    figure: f.importCpuMs,
    baseline: floor.importCpuMs,
    digits: 1,
  }));
  const maxBy = (pick: (f: BundleFigures) => number) =>
    functions.reduce((best, f) => (pick(f) > pick(best) ? f : best));
  const summary = (label: string, pick: (f: BundleFigures) => number): BenchRow[] => {
    const slowest = maxBy(pick);
    return [
      {
        metric: `${label}: median of the functions`,
        figure: median(functions.map(pick)),
        baseline: pick(floor),
        digits: 1,
      },
      {
        metric: `${label}: slowest, ${short(slowest.entry)}`,
        figure: pick(slowest),
        baseline: pick(floor),
        digits: 1,
      },
    ];
  };
  const sourceMapsRows: BenchRow[] = [
    ...summary("CPU ms, --enable-source-maps", (f) => f.importCpuMsSourceMaps),
    ...summary("wall ms", (f) => f.importMs),
    ...summary("wall ms, --enable-source-maps", (f) => f.importMsSourceMaps),
  ];
  const withinSize = functions.filter((f) => f.bytes <= floor.bytes * COLD_START_GOALS.size).length;
  const withinImport = functions.filter(
    (f) => f.importCpuMs <= floor.importCpuMs * COLD_START_GOALS.importTime,
  ).length;
  const largest = maxBy((f) => f.bytes);
  const contributors = (f: BundleFigures) =>
    f.top
      .slice(0, 6)
      .map((c) => `${c.name} ${kb(c.bytes).toFixed(0)}`)
      .join(", ");
  return [
    {
      title:
        "Cold start: bundle size as cdk synth builds it, each function vs the floor (one GetItem, same SDK)",
      figureLabel: "function",
      baselineLabel: "floor",
      rows: sizeRows,
      notes: [
        `Goal ≤ ${COLD_START_GOALS.size}× the floor: ${withinSize} of ${functions.length} functions meet it.`,
        "esbuild with infra/bundling.ts (MxFunction's options): minified ESM, node22, SDK bundled; source map aside.",
        `Largest, ${short(largest.entry)}, KB by contributor: ${contributors(largest)}.`,
        `The floor: ${contributors(floor)}.`,
      ],
    },
    {
      title: `Cold start: import CPU time in a fresh node process (median of ${result.runs}), each function vs the floor`,
      figureLabel: "function",
      baselineLabel: "floor",
      rows: importRows,
      notes: [
        `Goal ≤ ${COLD_START_GOALS.importTime}× the floor: ${withinImport} of ${functions.length} functions meet it.`,
        "From import() to its end, in the process's environment as Lambda sets it (tokens stood in for);",
        "  CPU time (user + system): an import is CPU work, and other load hardly moves it (wall time: below).",
        "Each run imports every bundle once in turn (round-robin), so load on the machine hits all alike.",
      ],
    },
    {
      title: `Cold start: with NODE_OPTIONS=--enable-source-maps (as deployed) and wall time, median of ${result.runs}`,
      figureLabel: "functions",
      baselineLabel: "floor",
      rows: sourceMapsRows,
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { runs: { type: "string" } } });
  const runs = z.coerce.number().int().min(1).max(51).default(7).parse(values.runs);
  const result = await measureColdStart(runs);
  if (process.send) process.send(result, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 2));
}

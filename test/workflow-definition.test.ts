// The sync workflow as synthesized: its shape (what AWS will run), that the local runner runs exactly
// that definition, and its routes, driven through the real definition with scripted task results.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, SKIP_BUNDLING, STACK_NAME } from "../infra/build";
import { PROJECT_ROOT } from "../infra/stack";
import { loadLocalWorkflow } from "../local/workflow";
import { collectStates, type Json, type JsonObject } from "../local/workflow/asl";
import { LocalStepFunctions } from "../local/workflow/executions";
import type { LambdaTarget } from "../local/workflow/lambda";
import { type CfnTemplate, functionsIn, stateMachinesIn } from "../local/workflow/template";

const account = { region: "us-east-1", accountId: "000000000000" };
const smArn = (logicalId: string) => `arn:aws:states:us-east-1:000000000000:stateMachine:${logicalId}`;

let template: CfnTemplate;
let sync: JsonObject;
let states: Map<string, JsonObject>;

beforeAll(() => {
  // A cdk.out-style synth: the template file as `cdk synth` writes it (bundling skipped).
  const outdir = mkdtempSync(join(tmpdir(), "workflow-definition-"));
  try {
    buildApp({ context: { ...SKIP_BUNDLING }, outdir, nag: false }).app.synth();
    template = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), "utf8")) as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  const machine = stateMachinesIn(template, account, smArn).find((m) => m.role === "sync");
  if (!machine) throw new Error("no sync state machine in the template");
  sync = machine.definition;
  states = collectStates(sync);
});

const state = (name: string): JsonObject => {
  const found = states.get(name);
  if (!found) throw new Error(`no state ${name}`);
  return found;
};
const tasksIn = (machine: JsonObject) => [...collectStates(machine)].filter(([, s]) => s.Type === "Task");

// The definition is synthesized once in beforeAll (Prepare); each shape test reads it (Act) and checks it.
describe("the synthesized sync definition", () => {
  it("has the agreed states", () => {
    // Assess
    expect([...states.keys()]).toEqual(
      expect.arrayContaining([
        "Prepare",
        "Begin",
        "LeaseAcquired",
        "AlreadyRunning",
        "PollSoon",
        "Poll",
        "RouteByPhase",
        "WaitForAggregation",
        "NextJob",
        "Identify",
        "ExtendedHistoryWanted",
        "ExtendHistory",
        "WhichJobDeclined",
        "AggregationDeclined",
        "ChallengeRoundsLeft",
        "AwaitChallenge",
        "ChallengeTimedOut",
        "TooManyChallenges",
        "FanOut",
        "ReadOwners",
        "StoreOwners",
        "StoreAccounts",
        "StoreTransactionWindows",
        "StoreFirstTransactionsPage",
        "StoreTransactionPages",
        "StoreTransactionsPage",
        "Synced",
        "PollEnded",
        "RecordFailure",
        "Finish",
        "FinishFailed",
      ]),
    );
  });

  it("catches errors on every top-level Task and on the fan-out; branch tasks are covered by the Parallel's Catch", () => {
    // Act: the tasks inside the fan-out's branches
    const nested = new Set<string>();
    for (const branch of (state("FanOut").Branches as JsonObject[]) ?? []) {
      for (const name of collectStates(branch).keys()) nested.add(name);
    }

    // Assess
    for (const [name, task] of tasksIn(sync)) {
      if (nested.has(name)) continue;
      expect(task.Catch, name).toEqual(
        expect.arrayContaining([expect.objectContaining({ ErrorEquals: ["States.ALL"] })]),
      );
    }
    expect(state("FanOut").Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: "RecordFailure" }),
    ]);
    expect(state("Finish").Catch).toEqual([expect.objectContaining({ Next: "FinishFailed" })]);
    expect(state("FinishFailed").Type).toBe("Fail");
  });

  it("retries every Task on Lambda service errors and MX's transient errors, with full jitter", () => {
    // Assess
    for (const [name, task] of tasksIn(sync)) {
      const retry = task.Retry as JsonObject[];
      const errors = retry.flatMap((r) => r.ErrorEquals as string[]);
      expect(errors, name).toEqual(
        expect.arrayContaining([
          "Lambda.ServiceException",
          "MxRateLimitedError",
          "MxUnavailableError",
          "MxTimeoutError",
        ]),
      );
      for (const retrier of retry) expect(retrier.JitterStrategy, name).toBe("FULL");
    }
  });

  it("retries every Task, bounded, on a crashed function and on storage throttling (BatchWriteError included)", () => {
    // Assess
    for (const [name, task] of tasksIn(sync)) {
      const retry = task.Retry as JsonObject[];
      const errors = retry.flatMap((r) => r.ErrorEquals as string[]);
      expect(errors, name).toEqual(
        expect.arrayContaining([
          "Lambda.Unknown",
          "BatchWriteError",
          "ProvisionedThroughputExceededException",
          "ThrottlingException",
        ]),
      );
      for (const retrier of retry) expect(retrier.MaxAttempts as number, name).toBeLessThanOrEqual(8);
    }
  });

  it("lists a window's pages in one range up to 1,000 pages, in chunks of 1,000 beyond", () => {
    // Assess
    expect(state("MoreTransactionPages").Choices).toEqual([
      expect.objectContaining({ NumericGreaterThan: 1000, Next: "ListTransactionPageChunks" }),
      expect.objectContaining({ NumericGreaterThan: 1, Next: "ListTransactionPages" }),
    ]);
    expect(state("ListTransactionPageChunks").Parameters).toEqual({
      "starts.$": "States.ArrayRange(1, $.first.totalPages, 1000)",
    });
    expect(state("StoreTransactionPageChunks")).toMatchObject({ Type: "Map", MaxConcurrency: 1 });
    expect(state("StoreTransactionPagesInChunk")).toMatchObject({ Type: "Map", MaxConcurrency: 4 });
  });

  it("waits for the next poll by the Poll task's answer (SecondsPath), never under MX's 3 s first", () => {
    // Assess
    expect(state("WaitForAggregation")).toMatchObject({
      Type: "Wait",
      SecondsPath: "$.poll.waitSeconds",
      Next: "Poll",
    });
    expect(state("PollSoon")).toMatchObject({ Type: "Wait", Seconds: 3, Next: "Poll" });
  });

  it("reads transaction windows one at a time, and pages beyond a window's first with bounded concurrency", () => {
    // Assess
    expect(state("StoreTransactionWindows")).toMatchObject({
      Type: "Map",
      MaxConcurrency: 1,
      ItemsPath: "$.begin.windows",
    });
    expect(state("StoreTransactionPages")).toMatchObject({
      Type: "Map",
      MaxConcurrency: 4,
      ItemsPath: "$.pageList.pages",
    });
  });

  it("asks identify and extend_history again, bounded, while MX runs another job (409), then goes on without", () => {
    // Assess
    for (const name of ["Identify", "ExtendHistory"]) {
      const busy = (state(name).Retry as JsonObject[]).find((r) =>
        (r.ErrorEquals as string[]).includes("MxJobBusyError"),
      );
      expect(busy, name).toMatchObject({ MaxAttempts: expect.any(Number), JitterStrategy: "FULL" });
      expect((busy?.MaxAttempts as number) > 1 && (busy?.MaxAttempts as number) <= 10).toBe(true);
      expect((state(name).Catch as JsonObject[])[0]).toMatchObject({ ErrorEquals: ["MxJobBusyError"] });
    }
  });

  it("waits for the MFA answer with a task token, a timeout, and a timeout route of its own", () => {
    // Act
    const challenge = state("AwaitChallenge");

    // Assess
    expect(challenge.Resource).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
    expect(challenge.TimeoutSeconds).toBe(600);
    expect((challenge.Parameters as JsonObject).Payload).toMatchObject({ "taskToken.$": "$$.Task.Token" });
    expect((challenge.Catch as JsonObject[])[0]).toMatchObject({
      ErrorEquals: ["States.Timeout"],
      Next: "ChallengeWaitEnded",
    });
  });

  it("invokes the other tasks by function ARN (no invoke envelope in the state)", () => {
    // Assess
    for (const [name, task] of tasksIn(sync)) {
      if (name === "AwaitChallenge") continue;
      expect(task.Resource, name).toMatch(/^arn:aws:lambda:/);
    }
  });

  it("uses JSONPath only: no JSONata, no variables", () => {
    // Act
    const text = JSON.stringify(sync);

    // Assess
    expect(text).not.toMatch(/JSONata|"Assign"|\{%/);
    expect(sync.TimeoutSeconds).toBeGreaterThan(0);
  });

  it("is the definition the local runner executes", async () => {
    // Act: the runner synthesizes the stack itself
    const workflow = await loadLocalWorkflow({ waitScale: 0.001 });

    // Assess
    expect(workflow.definitions.sync).toEqual(sync);
    expect(Object.keys(workflow.definitions)).toEqual(expect.arrayContaining(["sync"]));
  });
});

describe("the extendedHistory context", () => {
  /** EXTENDED_HISTORY of every sync task Lambda in the template synthesized with `context`. */
  function extendedHistoryEnv(context: Record<string, unknown>): unknown[] {
    const outdir = mkdtempSync(join(tmpdir(), "workflow-context-"));
    try {
      buildApp({ context: { ...SKIP_BUNDLING, ...context }, outdir, nag: false }).app.synth();
      const synthesized = JSON.parse(
        readFileSync(join(outdir, `${STACK_NAME}.template.json`), "utf8"),
      ) as CfnTemplate;
      return functionsIn(synthesized, account, PROJECT_ROOT)
        .filter((fn) => fn.entry.startsWith("functions/sync-"))
        .map((fn) => fn.environment.EXTENDED_HISTORY);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }

  it("is off by default and reaches every sync task Lambda when set (-c extendedHistory=true)", () => {
    // Act
    const byDefault = extendedHistoryEnv({});
    const enabled = extendedHistoryEnv({ extendedHistory: "true" });

    // Assess
    expect(byDefault.length).toBeGreaterThan(5);
    expect(new Set(byDefault)).toEqual(new Set(["false"]));
    expect(new Set(enabled)).toEqual(new Set(["true"]));
  });
});

// ---- routes, through the real definition with scripted task results ----

type Script = Partial<Record<string, (event: JsonObject, call: number) => unknown>>;

/** Fake Lambdas at the template's function ARNs, recording calls per entry module. */
function fakes(script: Script): { targets: LambdaTarget[]; calls: Record<string, JsonObject[]> } {
  const calls: Record<string, JsonObject[]> = {};
  const targets = functionsIn(template, account, PROJECT_ROOT).map((fn) => {
    const name = fn.entry.replace(/^functions\/|\.ts$/g, "");
    calls[name] = [];
    return {
      ...fn,
      load: async () => async (event: unknown) => {
        const list = calls[name] ?? [];
        list.push(event as JsonObject);
        const step = script[name];
        if (!step) throw new Error(`unexpected call to ${name}`);
        return step(event as JsonObject, list.length);
      },
    };
  });
  return { targets, calls };
}

class NamedError extends Error {
  constructor(name: string) {
    super(`${name} from a scripted task`);
    this.name = name;
  }
}

const REQUEST = { userId: "u1", mxUserGuid: "USR-1", memberGuid: "MBR-1", identify: false, mode: "initial" };
const window = { from: "2024-01-01", to: "2026-01-06" };
const DATA_AS_OF = "2026-01-01T10:00:00Z";
const poll = (phase: string, connectionStatus = phase) => ({
  phase,
  connectionStatus,
  waitSeconds: 5,
  elapsedSeconds: 1,
  dataAsOf: DATA_AS_OF,
});
const begun = {
  acquired: true,
  startedAt: 1000,
  window,
  windows: [window],
  baseline: null,
  extendHistory: false,
};
const job = (kind: string, requested = true) => ({
  kind,
  requested,
  baseline: "2025-12-31T09:00:00Z",
  phaseStartedAt: 2000,
});
const happy: Script = {
  "sync-begin": () => begun,
  "sync-poll": () => poll("CONNECTED"),
  "sync-owners": () => ({ stored: 2 }),
  "sync-accounts": () => ({ stored: 3 }),
  "sync-transactions-page": (event) => ({
    stored: event.page === 3 ? 5 : 1000,
    totalPages: 3,
    totalEntries: 2005,
  }),
  "sync-finish": (event) => ({ outcome: event.outcome }),
};

let backend: LocalStepFunctions;
afterAll(async () => backend?.close());

async function runSync(script: Script, input: JsonObject = REQUEST, answer?: (token: string) => void) {
  const { targets, calls } = fakes({ ...happy, ...script });
  backend = new LocalStepFunctions({ waitScale: 0.001 });
  const arn = backend.addStateMachine({
    name: `sync-${Math.random().toString(36).slice(2)}`,
    definition: sync,
    functions: targets,
  });
  const { executionArn } = backend.startExecution({
    stateMachineArn: arn,
    name: "run-1",
    input: JSON.stringify(input),
  });
  const answering = (async () => {
    if (!answer) return;
    const seen = new Set<string>();
    while (backend.describeExecution({ executionArn }).status === "RUNNING") {
      for (const { taskToken } of backend.pendingTaskTokens(executionArn)) {
        if (!seen.has(taskToken)) {
          seen.add(taskToken);
          answer(taskToken);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const result = await backend.waitForExecution(executionArn);
  await answering;
  const finish = calls["sync-finish"] ?? [];
  return { result, calls, finish: finish[finish.length - 1] as Json | undefined };
}

describe("the sync workflow's routes", () => {
  it("polls while aggregating, fans out, reads pages 2..N in the Map and finishes SYNCED with per-page counts", async () => {
    // Act: MX aggregates for two polls
    const { result, calls, finish } = await runSync({
      "sync-poll": (_event, call) => (call < 3 ? poll("AGGREGATING", "CONNECTED") : poll("CONNECTED")),
    });

    // Assess
    expect(result).toEqual({ status: "SUCCEEDED", output: { outcome: "SYNCED" } });
    expect(calls["sync-poll"]).toHaveLength(3);
    expect(calls["sync-transactions-page"]?.map((e) => e.page).sort()).toEqual([1, 2, 3]);
    expect(calls["sync-owners"]).toHaveLength(0); // owners are identity data: not asked for here
    expect(finish).toEqual({
      request: REQUEST,
      syncRun: "run-1",
      outcome: "SYNCED",
      connectionStatus: "CONNECTED",
      startedAt: 1000,
      window,
      counts: { owners: 0, accounts: 3, transactionPages: [[1000, 1000, 5]] },
      aggregation: "AGGREGATED",
      dataAsOf: DATA_AS_OF,
    });
  });

  it("gives every task only guids, flags, counts and timings", async () => {
    // Act
    const { calls } = await runSync({});

    // Assess
    expect(calls["sync-poll"]?.[0]).toEqual({
      request: REQUEST,
      syncRun: "run-1",
      phaseStartedAt: 1000,
      baseline: null,
    });
    expect(calls["sync-transactions-page"]?.[0]).toEqual({
      request: REQUEST,
      syncRun: "run-1",
      window,
      page: 1,
    });
  });

  it("ends ALREADY_RUNNING without finishing when another run holds the lease", async () => {
    // Act
    const { result, calls } = await runSync({
      "sync-begin": () => ({ ...begun, acquired: false }),
    });

    // Assess
    expect(result).toEqual({ status: "SUCCEEDED", output: { outcome: "ALREADY_RUNNING" } });
    expect(calls["sync-finish"]).toHaveLength(0);
  });

  it("identifies once when asked, then polls again (against identify's baseline) before the fan-out", async () => {
    // Act
    const { calls, finish } = await runSync(
      { "sync-identify": () => job("identify") },
      { ...REQUEST, identify: true },
    );

    // Assess
    expect(calls["sync-identify"]).toHaveLength(1);
    expect(calls["sync-poll"]?.map((e) => [e.phaseStartedAt, e.baseline])).toEqual([
      [1000, null],
      [2000, "2025-12-31T09:00:00Z"],
    ]);
    expect(calls["sync-owners"]).toHaveLength(1);
    expect(finish).toMatchObject({ outcome: "SYNCED", counts: { owners: 2 } });
  });

  it("goes on to the fan-out when identify is not available, without polling again", async () => {
    // Act
    const { calls, finish } = await runSync(
      { "sync-identify": () => job("identify", false) },
      { ...REQUEST, identify: true },
    );

    // Assess
    expect(calls["sync-poll"]).toHaveLength(1);
    expect(finish).toMatchObject({ outcome: "SYNCED", aggregation: "AGGREGATED" });
  });

  it("asks identify again while MX runs another job, then goes on", async () => {
    // Act
    const { calls, finish } = await runSync(
      {
        "sync-identify": (_event, call) => {
          if (call === 1) throw new NamedError("MxJobBusyError");
          return job("identify");
        },
      },
      { ...REQUEST, identify: true },
    );

    // Assess
    expect(calls["sync-identify"]).toHaveLength(2);
    expect(finish).toMatchObject({ outcome: "SYNCED" });
  });

  it("records a declined aggregation (MX ran nothing) as SYNCED with aggregation DECLINED", async () => {
    // Act
    const { calls, finish } = await runSync({ "sync-poll": () => poll("DECLINED", "CONNECTED") });

    // Assess
    expect(calls["sync-transactions-page"]?.length).toBeGreaterThan(0);
    expect(finish).toMatchObject({ outcome: "SYNCED", aggregation: "DECLINED", dataAsOf: DATA_AS_OF });
  });

  it("asks for extended history when Begin says so, polls its job, and reads every window", async () => {
    // Prepare
    const older = { from: "2023-01-01", to: "2023-12-31" };

    // Act
    const { calls, finish } = await runSync({
      "sync-begin": () => ({ ...begun, extendHistory: true, windows: [window, older] }),
      "sync-extend-history": () => job("history"),
    });

    // Assess
    expect(calls["sync-extend-history"]).toHaveLength(1);
    expect(calls["sync-poll"]?.map((e) => e.phaseStartedAt)).toEqual([1000, 2000]);
    const firstPages = calls["sync-transactions-page"]?.filter((e) => e.page === 1).map((e) => e.window);
    expect(firstPages).toEqual([window, older]);
    expect(finish).toMatchObject({
      outcome: "SYNCED",
      counts: {
        transactionPages: [
          [1000, 1000, 5],
          [1000, 1000, 5],
        ],
      },
    });
  });

  it.each([
    { phase: "NEEDS_USER", connectionStatus: "DENIED" },
    { phase: "FAILED", connectionStatus: "FAILED" },
    { phase: "TIMED_OUT", connectionStatus: "CONNECTED" },
  ])(
    "records $phase ($connectionStatus) from the poll as the outcome",
    async ({ phase, connectionStatus }) => {
      // Act
      const { finish } = await runSync({ "sync-poll": () => poll(phase, connectionStatus) });

      // Assess
      expect(finish).toMatchObject({ outcome: phase, connectionStatus, startedAt: 1000 });
    },
  );

  it("waits for each MFA answer, then polls from the answer's time; gives up NEEDS_USER after 5 rounds", async () => {
    // Prepare: MX keeps challenging; the app answers every time
    const script: Script = {
      "sync-poll": () => poll("CHALLENGED"),
      "sync-challenge": () => ({ waiting: true }),
    };
    const answer = (token: string) =>
      backend.sendTaskSuccess({ taskToken: token, output: JSON.stringify({ phaseStartedAt: 5000 }) });

    // Act
    const { result, calls, finish } = await runSync(script, REQUEST, answer);

    // Assess
    expect(result.status).toBe("SUCCEEDED");
    expect(calls["sync-challenge"]?.map((e) => e.round)).toEqual([1, 2, 3, 4, 5]);
    expect(calls["sync-challenge"]?.[0]?.taskToken).toEqual(expect.any(String));
    expect(calls["sync-poll"]?.slice(1).map((e) => e.phaseStartedAt)).toEqual([5000, 5000, 5000, 5000, 5000]);
    expect(finish).toMatchObject({ outcome: "NEEDS_USER", connectionStatus: "CHALLENGED" });
  });

  it("ends TIMED_OUT when the MFA answer never comes", async () => {
    // Act: nobody answers
    const { finish } = await runSync({
      "sync-poll": () => poll("CHALLENGED"),
      "sync-challenge": () => ({ waiting: true }),
    });

    // Assess
    expect(finish).toMatchObject({ outcome: "TIMED_OUT", connectionStatus: "CHALLENGED" });
  });

  it("retries MX's transient errors and records a hard error as FAILED with its name", async () => {
    // Act: a transient error, then a hard one
    const { calls, finish } = await runSync({
      "sync-poll": (_event, call) => {
        if (call === 1) throw new NamedError("MxRateLimitedError");
        throw new NamedError("MxNotFoundError");
      },
    });

    // Assess
    expect(calls["sync-poll"]).toHaveLength(2);
    expect(finish).toMatchObject({
      outcome: "FAILED",
      error: { Error: "MxNotFoundError", Cause: expect.stringContaining('"errorType":"MxNotFoundError"') },
    });
  });

  it("records a failed fan-out as FAILED", async () => {
    // Act
    const { finish } = await runSync({
      "sync-accounts": () => {
        throw new NamedError("MxResponseError");
      },
    });

    // Assess
    expect(finish).toMatchObject({ outcome: "FAILED", error: { Error: "MxResponseError" } });
  });

  it("fails the execution when Finish itself cannot record the outcome", async () => {
    // Act
    const { result } = await runSync({
      "sync-finish": () => {
        throw new NamedError("ConditionalCheckFailedException");
      },
    });

    // Assess
    expect(result).toMatchObject({ status: "FAILED", error: "SyncFinishFailed" });
  });

  it("reads a window of more than 1,000 pages (States.ArrayRange's limit) in chunks, every page once", async () => {
    // Prepare: 1,001 pages of one transaction each (two chunks, the last one a single page)
    const totalPages = 1001;

    // Act
    const { result, calls, finish } = await runSync({
      "sync-transactions-page": () => ({ stored: 1, totalPages, totalEntries: totalPages }),
    });

    // Assess
    expect(result).toEqual({ status: "SUCCEEDED", output: { outcome: "SYNCED" } });
    const pages = (calls["sync-transactions-page"] ?? []).map((e) => e.page as number);
    expect(pages).toHaveLength(totalPages);
    expect(new Set(pages).size).toBe(totalPages);
    expect(Math.max(...pages)).toBe(totalPages);
    const counts = (finish as { counts: { transactionPages: number[][] } }).counts.transactionPages;
    expect(counts).toEqual([Array.from({ length: totalPages }, () => 1)]);
  }, 120_000);

  it("reads a page again after its function crashed or its writes were throttled, and finishes SYNCED", async () => {
    // Prepare
    const attempts = new Map<unknown, number>();

    // Act: page 2 crashes once (Lambda.Unknown), page 3's batch writes run out of attempts once
    const { result, calls, finish } = await runSync({
      "sync-transactions-page": (event) => {
        const seen = (attempts.get(event.page) ?? 0) + 1;
        attempts.set(event.page, seen);
        if (event.page === 2 && seen === 1) throw new NamedError("Lambda.Unknown");
        if (event.page === 3 && seen === 1) throw new NamedError("BatchWriteError");
        return { stored: event.page === 3 ? 5 : 1000, totalPages: 3, totalEntries: 2005 };
      },
    });

    // Assess
    expect(result).toEqual({ status: "SUCCEEDED", output: { outcome: "SYNCED" } });
    expect(calls["sync-transactions-page"]?.map((e) => e.page).sort()).toEqual([1, 2, 2, 3, 3]);
    expect(finish).toMatchObject({ counts: { transactionPages: [[1000, 1000, 5]] } });
  });
});

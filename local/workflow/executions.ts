// Local Step Functions: state machines run in-process by aws-local-stepfunctions, with the service's
// execution rules (names, idempotent StartExecution, statuses) and the task-token callback API.
// The local AWS endpoint (local/aws) serves these methods over the AWS JSON protocol.
import { randomBytes } from "node:crypto";
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import {
  type ExecutionRuntime,
  type Json,
  type JsonObject,
  prepareLocalDefinition,
  type TaskHandler,
  type TaskTokenBroker,
} from "./asl";
import { type LambdaFaults, type LambdaTarget, MAX_PAYLOAD_BYTES } from "./lambda";

/** One entry of an execution's event log (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine["run"]>["eventLogs"] extends AsyncGenerator<infer E> ? E : never;

/** An AWS API error: `type` is the error code the SDK turns into its named exception. */
export class AwsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

export interface ExecutionResult {
  status: ExecutionStatus;
  /** The parsed output when SUCCEEDED. */
  output?: Json;
  error?: string;
  cause?: string;
}

export interface StateMachineSpec {
  /** The state machine's name (the last part of its ARN). */
  name: string;
  /** The definition as deployed (tokens resolved). */
  definition: JsonObject;
  /** Every function the definition may invoke, by ARN. */
  functions: readonly LambdaTarget[];
}

interface Execution extends ExecutionDescription {
  done: Promise<void>;
  stop: (error?: string, cause?: string) => void;
  events: EventLog[];
}

interface PendingToken {
  executionArn: string;
  stateName: string;
  resolve: (output: Json) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

// AWS: 1–80 characters, none of whitespace, brackets, wildcards, special or control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS forbids control characters in names.
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{86}$/;

export interface LocalStepFunctionsOptions {
  region?: string;
  accountId?: string;
  /** Multiplies Wait states and Retry intervals of every execution (default 1, real time). */
  waitScale?: number;
  /** Multiplies waitForTaskToken timeouts (default: waitScale). */
  taskTokenTimeoutScale?: number;
  /** Crashes to inject into the functions' invocations (fault tests); none by default. */
  lambdaFaults?: LambdaFaults;
}

export class LocalStepFunctions {
  readonly region: string;
  readonly accountId: string;
  readonly waitScale: number;
  readonly taskTokenTimeoutScale: number;
  private readonly lambdaFaults: LambdaFaults | undefined;
  private readonly machines = new Map<
    string,
    { arn: string; run: (input: Json, execution: Execution) => void }
  >();
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, PendingToken>();
  private readonly closedTokens = new Map<string, "used" | "timed-out">();
  /** Handler calls under way: close() waits for them, so none writes to a store closed under it. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: LocalStepFunctionsOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "000000000000";
    this.waitScale = options.waitScale ?? 1;
    this.taskTokenTimeoutScale = options.taskTokenTimeoutScale ?? this.waitScale;
    this.lambdaFaults = options.lambdaFaults;
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  /**
   * Registers a state machine. Throws now (not at the first execution) if the definition is invalid,
   * uses a feature the local runner does not emulate, or has a Task with no local function.
   */
  addStateMachine(spec: StateMachineSpec): string {
    const arn = this.stateMachineArn(spec.name);
    if (this.machines.has(arn)) throw new Error(`State machine ${spec.name} is already registered`);
    // Validate the deployable definition as is (the local rewrite below bends a few numeric rules).
    // (on a copy: validation adds defaults such as each state's QueryLanguage to what it is given).
    new StateMachine(structuredClone(spec.definition) as unknown as StateMachineDefinition);
    const functions = new Map(spec.functions.map((fn) => [fn.arn, fn]));
    const local = prepareLocalDefinition(spec.definition, {
      functions,
      waitScale: this.waitScale,
      taskTokenTimeoutScale: this.taskTokenTimeoutScale,
      ...(this.lambdaFaults ? { lambdaFaults: this.lambdaFaults } : {}),
    });
    const machine = new StateMachine(local.definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });

    const run = (input: Json, execution: Execution) => {
      const stopped = new AbortController();
      const runtime: ExecutionRuntime = {
        broker: this.broker(execution.executionArn),
        sleep: (ms) => sleep(ms, stopped.signal),
      };
      const running = machine.run(input as never, {
        overrides: { taskResourceLocalHandlers: this.tracked(local.handlers(runtime)) as never },
        context: {
          Execution: { Id: execution.executionArn, Name: execution.name, RoleArn: `${arn}-role` },
          StateMachine: { Id: arn, Name: spec.name },
        },
      });
      execution.stop = (error, cause) => {
        if (execution.status !== "RUNNING") return;
        this.finish(execution, { status: "ABORTED", error, cause });
        stopped.abort();
        running.abort();
        this.revokeTokens(execution.executionArn);
      };
      void (async () => {
        for await (const event of running.eventLogs) execution.events.push(event);
      })();
      execution.done = running.result.then(
        (output) => this.finish(execution, { status: "SUCCEEDED", output: JSON.stringify(output ?? null) }),
        (error: unknown) => {
          stopped.abort();
          this.revokeTokens(execution.executionArn);
          this.finish(execution, failure(error));
        },
      );
    };
    this.machines.set(arn, { arn, run });
    return arn;
  }

  // ---- the Step Functions API (the subset the project uses) ----

  startExecution(request: { stateMachineArn?: string; name?: string; input?: string }): {
    executionArn: string;
    startDate: Date;
  } {
    const machine = this.machines.get(request.stateMachineArn ?? "");
    if (!machine) {
      throw new AwsApiError(
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${request.stateMachineArn}'`,
      );
    }
    const name = request.name ?? crypto.randomUUID();
    if (!NAME_PATTERN.test(name)) throw new AwsApiError("InvalidName", `Invalid Name: '${name}'`);
    const inputText = request.input ?? "{}";
    if (Buffer.byteLength(inputText) > MAX_PAYLOAD_BYTES) {
      throw new AwsApiError("InvalidExecutionInput", "Input exceeds the maximum size (262144 bytes)");
    }
    let input: Json;
    try {
      input = JSON.parse(inputText) as Json;
    } catch {
      throw new AwsApiError("InvalidExecutionInput", "Invalid State Machine Execution Input: not JSON");
    }
    const smName = machine.arn.split(":").at(-1);
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${smName}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: the same name and input while it runs is the same start (idempotent); anything else conflicts.
      if (existing.status === "RUNNING" && sameJson(existing.input, inputText)) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsApiError("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
    }
    const execution: Execution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: "RUNNING",
      startDate: new Date(),
      input: inputText,
      done: Promise.resolve(),
      stop: () => {},
      events: [],
    };
    this.executions.set(executionArn, execution);
    machine.run(input, execution);
    return { executionArn, startDate: execution.startDate };
  }

  describeExecution(request: { executionArn?: string }): ExecutionDescription {
    const { done: _d, stop: _s, events: _e, ...description } = this.execution(request.executionArn);
    return description;
  }

  stopExecution(request: { executionArn?: string; error?: string; cause?: string }): { stopDate: Date } {
    const execution = this.execution(request.executionArn);
    execution.stop(request.error, request.cause);
    return { stopDate: execution.stopDate ?? new Date() };
  }

  listExecutions(request: {
    stateMachineArn?: string;
    statusFilter?: ExecutionStatus;
    maxResults?: number;
    nextToken?: string;
  }): {
    executions: Omit<ExecutionDescription, "input" | "output" | "error" | "cause">[];
    nextToken?: string;
  } {
    if (!this.machines.has(request.stateMachineArn ?? "")) {
      throw new AwsApiError(
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${request.stateMachineArn}'`,
      );
    }
    const all = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === request.stateMachineArn)
      .filter((e) => !request.statusFilter || e.status === request.statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const start = request.nextToken ? Number(request.nextToken) : 0;
    const size = request.maxResults && request.maxResults > 0 ? request.maxResults : 100;
    const page = all
      .slice(start, start + size)
      .map(({ executionArn, stateMachineArn, name, status, startDate, stopDate }) => ({
        executionArn,
        stateMachineArn,
        name,
        status,
        startDate,
        ...(stopDate ? { stopDate } : {}),
      }));
    return { executions: page, ...(start + size < all.length ? { nextToken: String(start + size) } : {}) };
  }

  sendTaskSuccess(request: { taskToken?: string; output?: string }): Record<string, never> {
    let output: Json;
    try {
      output = JSON.parse(request.output ?? "") as Json;
    } catch {
      throw new AwsApiError("InvalidOutput", "Invalid Output: not JSON");
    }
    if (Buffer.byteLength(request.output ?? "") > MAX_PAYLOAD_BYTES) {
      throw new AwsApiError("InvalidOutput", "Output exceeds the maximum size (262144 bytes)");
    }
    this.takeToken(request.taskToken).resolve(output);
    return {};
  }

  sendTaskFailure(request: { taskToken?: string; error?: string; cause?: string }): Record<string, never> {
    const pending = this.takeToken(request.taskToken);
    const error = new Error(request.cause ?? "");
    error.name = request.error ?? "";
    pending.reject(error);
    return {};
  }

  // ---- helpers for local use and tests ----

  /** Waits until the execution ends and returns its outcome. */
  async waitForExecution(executionArn: string): Promise<ExecutionResult> {
    const execution = this.execution(executionArn);
    await execution.done;
    return {
      status: execution.status,
      ...(execution.output !== undefined ? { output: JSON.parse(execution.output) as Json } : {}),
      ...(execution.error !== undefined ? { error: execution.error } : {}),
      ...(execution.cause !== undefined ? { cause: execution.cause } : {}),
    };
  }

  /** The execution's event log so far (state entered/exited/retried/caught, …). */
  history(executionArn: string): readonly EventLog[] {
    return this.execution(executionArn).events;
  }

  /** Task tokens currently awaiting SendTaskSuccess/SendTaskFailure, with their state names. */
  pendingTaskTokens(executionArn?: string): { taskToken: string; executionArn: string; stateName: string }[] {
    return [...this.tokens]
      .filter(([, pending]) => !executionArn || pending.executionArn === executionArn)
      .map(([taskToken, pending]) => ({
        taskToken,
        executionArn: pending.executionArn,
        stateName: pending.stateName,
      }));
  }

  /** Stops every running execution and waits for the handler calls already under way to return. */
  async close(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === "RUNNING");
    for (const execution of running) execution.stop("LocalStackClosed", "The local stack was closed");
    await Promise.allSettled(running.map((e) => e.done));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private tracked(handlers: Record<string, TaskHandler>): Record<string, TaskHandler> {
    const track =
      (handler: TaskHandler): TaskHandler =>
      (input) => {
        const call = handler(input);
        this.inFlight.add(call);
        const forget = () => this.inFlight.delete(call);
        call.then(forget, forget);
        return call;
      };
    return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, track(handler)]));
  }

  private execution(executionArn: string | undefined): Execution {
    const execution = this.executions.get(executionArn ?? "");
    if (!execution) {
      if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(executionArn ?? "")) {
        throw new AwsApiError("InvalidArn", `Invalid Arn: '${executionArn}'`);
      }
      throw new AwsApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${executionArn}'`);
    }
    return execution;
  }

  private finish(execution: Execution, result: Partial<ExecutionDescription>): void {
    if (execution.status !== "RUNNING") return; // first end wins (a stop races the run's own end)
    Object.assign(execution, result, { stopDate: new Date() });
    for (const key of ["error", "cause", "output"] as const) {
      if (execution[key] === undefined) delete execution[key];
    }
  }

  private broker(executionArn: string): TaskTokenBroker {
    return {
      issue: (stateName, timeoutMs) => {
        const token = randomBytes(64).toString("base64url");
        let pending!: PendingToken;
        const settled = new Promise<Json>((resolve, reject) => {
          pending = { executionArn, stateName, resolve, reject };
        });
        settled.catch(() => {}); // a failure may arrive before the task awaits it
        if (timeoutMs !== undefined) {
          // The library ends the task with States.Timeout at timeoutMs; the token dies just after.
          pending.timer = setTimeout(() => {
            pending.reject(new Error("Task timed out")); // the task has already ended; free its handler call
            this.closeToken(token, "timed-out");
          }, timeoutMs + 50);
          pending.timer.unref();
        }
        this.tokens.set(token, pending);
        return { token, settled, revoke: () => this.closeToken(token, "used") };
      },
    };
  }

  private takeToken(taskToken: string | undefined): PendingToken {
    if (!taskToken || !TOKEN_PATTERN.test(taskToken)) throw new AwsApiError("InvalidToken", "Invalid Token");
    const pending = this.tokens.get(taskToken);
    if (!pending) {
      if (this.closedTokens.get(taskToken) === "timed-out")
        throw new AwsApiError("TaskTimedOut", "Task Timed Out");
      throw new AwsApiError("TaskDoesNotExist", "Task Does Not Exist");
    }
    this.closeToken(taskToken, "used");
    return pending;
  }

  private closeToken(token: string, why: "used" | "timed-out"): void {
    const pending = this.tokens.get(token);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.tokens.delete(token);
    this.closedTokens.set(token, why);
  }

  private revokeTokens(executionArn: string): void {
    for (const [token, pending] of this.tokens) {
      if (pending.executionArn !== executionArn) continue;
      pending.reject(new Error("Execution stopped")); // nobody can answer it now; free its handler call
      this.closeToken(token, "used");
    }
  }
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

function failure(error: unknown): Partial<ExecutionDescription> {
  if (error instanceof ExecutionTimeoutError) {
    return {
      status: "TIMED_OUT",
      error: "States.Timeout",
      cause: "The execution ran past its TimeoutSeconds",
    };
  }
  if (error instanceof ExecutionAbortedError) return { status: "ABORTED" };
  if (error instanceof ExecutionError && error.cause instanceof Error) {
    return { status: "FAILED", error: error.cause.name, cause: error.cause.message };
  }
  return {
    status: "FAILED",
    error: "States.Runtime",
    cause: error instanceof Error ? error.message : String(error),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("Execution stopped"));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("Execution stopped"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

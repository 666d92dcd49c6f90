// Turns a deployable state machine definition into one aws-local-stepfunctions can run in-process, and
// refuses (at load time) anything it cannot run faithfully. What the library lacks is emulated here:
//  - every Task is bound to a local handler; a Task with no handler would call real AWS, so unknown
//    resources throw here ("fail closed");
//  - `arn:aws:states:::lambda:invoke` gets Lambda's result envelope ({Payload, StatusCode, …});
//  - `….waitForTaskToken` gets a fresh task token per attempt in place of `$$.Task.Token` and waits for
//    SendTaskSuccess/SendTaskFailure, its TimeoutSeconds ending it with States.Timeout;
//  - waits (Wait states, Retry intervals) are multiplied by `waitScale`, task-token timeouts by
//    `taskTokenTimeoutScale` (people answer MFA prompts in real time while polls may be sped up).
// JSONata and variables are refused: the library would silently ignore them.
import { invokeEnvelope, invokeLambda, type LambdaFaults, type LambdaTarget } from "./lambda";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The resource ARNs of Lambda's optimized integration. */
export const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
export const LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken";
/** Marks where the task token goes; replaced per attempt by a fresh token. */
const TASK_TOKEN_PLACEHOLDER = "__mx_connect_local_task_token__";
/** A resource for the Tasks this module substitutes for dynamic Wait states (never called remotely). */
const LOCAL_WAIT_RESOURCE = "arn:aws:lambda:local:000000000000:function:mx-connect-local-wait";

/** "No timeout" for the library, which defaults Tasks to 60 s (and setTimeout overflows past ~24.8 days). */
const NO_TIMEOUT_SECONDS = 2_000_000;

export type TaskHandler = (input: Json) => Promise<Json>;

/** What a waitForTaskToken task needs from the execution that runs it. */
export interface TaskTokenBroker {
  /**
   * Issues a token for one attempt of `stateName`; `settled` resolves with SendTaskSuccess's output or
   * rejects with SendTaskFailure's error, and the token becomes invalid `timeoutMs` after it was issued.
   */
  issue(
    stateName: string,
    timeoutMs: number | undefined,
  ): { token: string; settled: Promise<Json>; revoke(): void };
}

export interface PrepareOptions {
  /** Functions by ARN. */
  functions: ReadonlyMap<string, LambdaTarget>;
  /** Multiplies Wait states and Retry intervals (1 = real time). */
  waitScale: number;
  /** Multiplies waitForTaskToken TimeoutSeconds (default: waitScale). */
  taskTokenTimeoutScale?: number;
  /** Crashes to inject into the invocations (fault tests); none by default. */
  lambdaFaults?: LambdaFaults;
}

/** What the handlers of one execution share with it. */
export interface ExecutionRuntime {
  broker: TaskTokenBroker;
  /** Sleeps `ms`, rejecting if the execution is stopped meanwhile. */
  sleep: (ms: number) => Promise<void>;
}

export interface LocalDefinition {
  /** The definition as the library runs it (waits scaled, dynamic waits replaced, tokens pre-wired). */
  definition: JsonObject;
  /** Local handlers by state name (aws-local-stepfunctions keys overrides by state name). */
  handlers: (runtime: ExecutionRuntime) => Record<string, TaskHandler>;
}

class UnsupportedDefinitionError extends Error {
  override name = "UnsupportedDefinitionError";
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every state of the machine, nested Parallel branches and Map processors included, by name. */
export function collectStates(definition: JsonObject): Map<string, JsonObject> {
  const states = new Map<string, JsonObject>();
  const walk = (machine: Json | undefined, where: string) => {
    if (!isObject(machine) || !isObject(machine.States)) {
      throw new UnsupportedDefinitionError(`${where} has no States`);
    }
    for (const [name, state] of Object.entries(machine.States)) {
      if (!isObject(state)) throw new UnsupportedDefinitionError(`State "${name}" is not an object`);
      // aws-local-stepfunctions keys its overrides by state name: two states with one name are ambiguous.
      if (states.has(name)) throw new UnsupportedDefinitionError(`State name "${name}" is used twice`);
      states.set(name, state);
      if (Array.isArray(state.Branches)) {
        for (const [i, branch] of state.Branches.entries()) walk(branch, `${name}.Branches[${i}]`);
      }
      if (state.ItemProcessor !== undefined) walk(state.ItemProcessor, `${name}.ItemProcessor`);
      if (state.Iterator !== undefined) walk(state.Iterator, `${name}.Iterator`);
    }
  };
  walk(definition, "The definition");
  return states;
}

/** Refuses what the library would silently run wrong: JSONata, variables, distributed maps. */
function assertJsonPathOnly(definition: JsonObject): void {
  const visit = (value: Json, path: string) => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${path}[${i}]`);
    }
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === "QueryLanguage" && child !== "JSONPath") {
        throw new UnsupportedDefinitionError(
          `${path}: QueryLanguage ${JSON.stringify(child)} is not supported locally`,
        );
      }
      if (key === "Assign")
        throw new UnsupportedDefinitionError(`${path}: variables (Assign) are not supported locally`);
      if (key === "ItemReader" || key === "ResultWriter") {
        throw new UnsupportedDefinitionError(`${path}: distributed Map (${key}) is not supported locally`);
      }
      visit(child, `${path}.${key}`);
    }
  };
  visit(definition, "$");
}

/** A value of `$.a.b.c` in `input` (the only path form a dynamic Wait may use locally). */
function simplePath(path: string, where: string): (input: Json) => Json | undefined {
  if (!/^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) {
    throw new UnsupportedDefinitionError(`${where}: path ${path} is not supported locally (use $.a.b form)`);
  }
  const keys = path.split(".").slice(1);
  return (input) => {
    let value: Json | undefined = input;
    for (const key of keys) value = isObject(value) ? value[key] : undefined;
    return value;
  };
}

/** Replaces `"key.$": "$$.Task.Token"` by the placeholder; any other use of the token is refused. */
function wireTaskToken(parameters: Json, where: string): { parameters: Json; found: boolean } {
  let found = false;
  const visit = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(visit);
    if (!isObject(value)) return value;
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      if (key.endsWith(".$") && child === "$$.Task.Token") {
        out[key.slice(0, -2)] = TASK_TOKEN_PLACEHOLDER;
        found = true;
      } else if (typeof child === "string" && child.includes("$$.Task.Token")) {
        throw new UnsupportedDefinitionError(`${where}: $$.Task.Token is only supported as a whole value`);
      } else {
        out[key] = visit(child);
      }
    }
    return out;
  };
  return { parameters: visit(parameters), found };
}

function replacePlaceholder(value: Json, token: string): Json {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((item) => replacePlaceholder(item, token));
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, replacePlaceholder(child, token)]),
    );
  }
  return value;
}

function functionFor(functions: ReadonlyMap<string, LambdaTarget>, arn: Json | undefined, where: string) {
  const target = typeof arn === "string" ? functions.get(arn) : undefined;
  if (!target) {
    throw new UnsupportedDefinitionError(
      `${where}: no local handler for function ${JSON.stringify(arn)} (a Task without one would call real AWS)`,
    );
  }
  return target;
}

/** `{FunctionName, Payload}` from a lambda:invoke task's resolved Parameters. */
function invokeParameters(input: Json, where: string): { payload: Json } {
  if (!isObject(input) || !("FunctionName" in input)) {
    throw new Error(`${where}: lambda:invoke input has no FunctionName`);
  }
  return { payload: input.Payload ?? null };
}

/**
 * Validates and rewrites `deployed` for local execution. Throws UnsupportedDefinitionError for any
 * Task without a local handler and any feature the library does not run faithfully.
 */
export function prepareLocalDefinition(deployed: JsonObject, options: PrepareOptions): LocalDefinition {
  assertJsonPathOnly(deployed);
  const definition = structuredClone(deployed);
  const scale = options.waitScale;
  if (!(scale > 0)) throw new UnsupportedDefinitionError("waitScale must be a positive number");
  type Binder = (runtime: ExecutionRuntime) => TaskHandler;
  const binders = new Map<string, Binder>();

  for (const [name, state] of collectStates(definition)) {
    const where = `State "${name}"`;
    if (Array.isArray(state.Retry)) {
      for (const retrier of state.Retry) {
        if (!isObject(retrier)) continue;
        retrier.IntervalSeconds =
          (typeof retrier.IntervalSeconds === "number" ? retrier.IntervalSeconds : 1) * scale;
        if (typeof retrier.MaxDelaySeconds === "number") retrier.MaxDelaySeconds *= scale;
      }
    }
    if (state.Type === "Wait") {
      if (typeof state.Seconds === "number") {
        state.Seconds *= scale;
        continue;
      }
      // SecondsPath/Timestamp(Path) waits are computed per execution: a local Task sleeps the scaled time.
      const seconds =
        typeof state.SecondsPath === "string" ? simplePath(state.SecondsPath, where) : undefined;
      const timestamp =
        typeof state.TimestampPath === "string"
          ? simplePath(state.TimestampPath, where)
          : typeof state.Timestamp === "string"
            ? () => state.Timestamp
            : undefined;
      const { SecondsPath: _s, TimestampPath: _tp, Timestamp: _t, ...rest } = state;
      for (const key of Object.keys(state)) delete state[key];
      Object.assign(state, rest, {
        Type: "Task",
        Resource: LOCAL_WAIT_RESOURCE,
        TimeoutSeconds: NO_TIMEOUT_SECONDS,
      });
      binders.set(name, (runtime) => async (input) => {
        let ms: number;
        if (seconds) {
          const value = seconds(input);
          if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
            throw new Error(`${where}: SecondsPath did not select a non-negative integer`);
          }
          ms = value * 1000;
        } else {
          const value = timestamp?.(input);
          const at = typeof value === "string" ? Date.parse(value) : Number.NaN;
          if (Number.isNaN(at)) throw new Error(`${where}: the timestamp is not an RFC 3339 date`);
          ms = Math.max(0, at - Date.now());
        }
        await runtime.sleep(ms * scale);
        return input;
      });
      continue;
    }
    if (state.Type !== "Task") continue;

    const resource = state.Resource;
    if (resource === LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN) {
      const parameters = isObject(state.Parameters) ? state.Parameters : undefined;
      const target = functionFor(options.functions, parameters?.FunctionName, where);
      const wired = wireTaskToken(state.Parameters ?? null, where);
      if (!wired.found)
        throw new UnsupportedDefinitionError(`${where}: waitForTaskToken without $$.Task.Token`);
      state.Parameters = wired.parameters;
      if (state.HeartbeatSeconds !== undefined || state.HeartbeatSecondsPath !== undefined) {
        throw new UnsupportedDefinitionError(`${where}: HeartbeatSeconds is not emulated locally`);
      }
      const tokenScale = options.taskTokenTimeoutScale ?? scale;
      const timeoutMs =
        typeof state.TimeoutSeconds === "number" ? state.TimeoutSeconds * 1000 * tokenScale : undefined;
      if (timeoutMs !== undefined) state.TimeoutSeconds = timeoutMs / 1000;
      else state.TimeoutSeconds = NO_TIMEOUT_SECONDS; // AWS waits up to a year; the library's default is 60 s
      binders.set(name, (runtime) => async (input) => {
        const { token, settled, revoke } = runtime.broker.issue(name, timeoutMs);
        try {
          const { payload } = invokeParameters(replacePlaceholder(input, token), where);
          await invokeLambda(target, payload, options.lambdaFaults);
        } catch (error) {
          revoke(); // the task failed: nobody may complete it any more
          throw error;
        }
        return settled;
      });
    } else if (resource === LAMBDA_INVOKE) {
      const parameters = isObject(state.Parameters) ? state.Parameters : undefined;
      const target = functionFor(options.functions, parameters?.FunctionName, where);
      state.TimeoutSeconds ??= target.timeoutSeconds + 1;
      binders.set(name, () => async (input) => {
        const { payload } = invokeParameters(input, where);
        return invokeEnvelope(await invokeLambda(target, payload, options.lambdaFaults)) as Json;
      });
    } else {
      const target = functionFor(options.functions, resource, where);
      // The library's default task timeout is 60 s; a Lambda task ends at the function's own timeout.
      state.TimeoutSeconds ??= target.timeoutSeconds + 1;
      binders.set(
        name,
        () => async (input) => (await invokeLambda(target, input, options.lambdaFaults)) as Json,
      );
    }
  }

  return {
    definition,
    handlers: (runtime) => Object.fromEntries([...binders].map(([name, bind]) => [name, bind(runtime)])),
  };
}

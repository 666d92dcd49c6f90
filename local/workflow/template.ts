// Reads the runnable workflow out of the synthesized CloudFormation template: the state machines'
// DefinitionStrings (their Fn::Join/Fn::GetAtt tokens resolved to fake ARNs named by logical id) and
// the Lambda functions, each mapped to its handler module by the `mx-connect:entry` metadata.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ENTRY_METADATA_KEY, STATE_MACHINE_METADATA_KEY } from "../../infra/metadata";
import type { Json, JsonObject } from "./asl";
import type { LambdaHandler, LambdaTarget } from "./lambda";

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

export interface FakeAccount {
  region: string;
  accountId: string;
}

/**
 * Synthesizes the real stack in-process with bundling skipped (about 2 s) and returns its template,
 * exactly as `cdk synth` writes it to cdk.out.
 */
export async function synthesizeTemplate(): Promise<CfnTemplate> {
  const { buildApp, SKIP_BUNDLING, STACK_NAME } = await import("../../infra/build");
  const outdir = mkdtempSync(join(tmpdir(), "mx-connect-synth-"));
  try {
    const { app } = buildApp({ context: { ...SKIP_BUNDLING }, outdir, nag: false });
    const assembly = app.synth();
    return assembly.getStackByName(STACK_NAME).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function functionArn(account: FakeAccount, logicalId: string): string {
  return `arn:aws:lambda:${account.region}:${account.accountId}:function:${logicalId}`;
}

/** Resolves the intrinsics CDK puts in a DefinitionString; anything else is refused (fail closed). */
export function resolveIntrinsics(
  value: unknown,
  template: CfnTemplate,
  account: FakeAccount,
  stateMachineArn: (logicalId: string) => string,
): unknown {
  const recurse = (v: unknown): unknown => resolveIntrinsics(v, template, account, stateMachineArn);
  if (Array.isArray(value)) return value.map(recurse);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0].startsWith("Fn::") || first[0] === "Ref")) {
    const [fn, args] = first;
    if (fn === "Fn::Join" && Array.isArray(args) && typeof args[0] === "string" && Array.isArray(args[1])) {
      return (args[1] as unknown[]).map((part) => String(recurse(part))).join(args[0]);
    }
    if (fn === "Fn::GetAtt" && Array.isArray(args) && args[1] === "Arn" && typeof args[0] === "string") {
      const type = template.Resources[args[0]]?.Type;
      if (type === "AWS::Lambda::Function") return functionArn(account, args[0]);
      if (type === "AWS::StepFunctions::StateMachine") return stateMachineArn(args[0]);
      throw new Error(`Fn::GetAtt ${args[0]}.Arn (${type ?? "unknown resource"}) cannot be resolved locally`);
    }
    if (fn === "Ref" && typeof args === "string") {
      const pseudo: Record<string, string> = {
        "AWS::Partition": "aws",
        "AWS::Region": account.region,
        "AWS::AccountId": account.accountId,
        "AWS::URLSuffix": "amazonaws.com",
      };
      if (pseudo[args]) return pseudo[args];
      const type = template.Resources[args]?.Type;
      if (type === "AWS::Lambda::Function") return args; // a function's Ref is its name
      if (type === "AWS::StepFunctions::StateMachine") return stateMachineArn(args);
      throw new Error(`Ref ${args} (${type ?? "unknown resource"}) cannot be resolved locally`);
    }
    throw new Error(`${fn} cannot be resolved locally`);
  }
  return Object.fromEntries(entries.map(([key, child]) => [key, recurse(child)]));
}

export interface TemplateStateMachine {
  logicalId: string;
  /** From the `mx-connect:state-machine` metadata ("sync", "refresh"), when present. */
  role?: string;
  /** The definition as AWS would run it, tokens resolved. */
  definition: JsonObject;
}

/** Every AWS::StepFunctions::StateMachine of the template with its resolved definition. */
export function stateMachinesIn(
  template: CfnTemplate,
  account: FakeAccount,
  stateMachineArn: (logicalId: string) => string,
): TemplateStateMachine[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === "AWS::StepFunctions::StateMachine")
    .map(([logicalId, resource]) => {
      const raw = resource.Properties?.DefinitionString;
      if (raw === undefined) throw new Error(`State machine ${logicalId} has no DefinitionString`);
      const text = resolveIntrinsics(raw, template, account, stateMachineArn);
      if (typeof text !== "string")
        throw new Error(`State machine ${logicalId}: DefinitionString is not a string`);
      const role = resource.Metadata?.[STATE_MACHINE_METADATA_KEY];
      return {
        logicalId,
        ...(typeof role === "string" ? { role } : {}),
        definition: JSON.parse(text) as JsonObject,
      };
    });
}

export interface TemplateFunction extends LambdaTarget {
  logicalId: string;
  /** The handler module, relative to the project root. */
  entry: string;
  /** The function's environment variable names, and the literal value when it is not a token. */
  environment: Record<string, string | undefined>;
}

/**
 * Every function with an `mx-connect:entry` metadata, as a LambdaTarget that imports its module on
 * first use (after the caller has set the environment the module reads at import time).
 */
export function functionsIn(
  template: CfnTemplate,
  account: FakeAccount,
  projectRoot: string,
): TemplateFunction[] {
  const functions: TemplateFunction[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
    if (typeof entry !== "string") continue; // not ours (e.g. a CDK custom resource): never mapped
    const modulePath = resolve(projectRoot, entry);
    const inside = relative(projectRoot, modulePath);
    if (inside.startsWith("..") || isAbsolute(inside))
      throw new Error(`${logicalId}: entry ${entry} is outside the project`);
    if (!existsSync(modulePath)) throw new Error(`${logicalId}: handler module ${entry} does not exist`);
    let loading: Promise<LambdaHandler> | undefined;
    const load = () => {
      loading ??= import(pathToFileURL(modulePath).href).then((module: { handler?: unknown }) => {
        if (typeof module.handler !== "function")
          throw new Error(`${entry} does not export a handler function`);
        return module.handler as LambdaHandler;
      });
      return loading;
    };
    const properties = resource.Properties ?? {};
    const variables = ((properties.Environment as { Variables?: Record<string, Json> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
    functions.push({
      logicalId,
      entry,
      arn: functionArn(account, logicalId),
      functionName: logicalId,
      timeoutSeconds: typeof properties.Timeout === "number" ? properties.Timeout : 3,
      ...(typeof properties.MemorySize === "number" ? { memorySize: properties.MemorySize } : {}),
      environment: Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [
          name,
          typeof value === "string" ? value : undefined,
        ]),
      ),
      load,
    });
  }
  return functions;
}

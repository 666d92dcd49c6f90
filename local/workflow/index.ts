// The local workflow runner: the state machines of the synthesized stack, run in-process by
// aws-local-stepfunctions with every Task bound to its handler module (see asl.ts for what is emulated).
//
//   const workflow = await loadLocalWorkflow({ waitScale: 0.01 });
//   // set process.env for the handlers (TABLE_NAME, MX_BASE_URL, …, STATE_MACHINE_ARN = workflow.arns.sync)
//   workflow.checkEnvironment();
//   const { executionArn } = workflow.stepFunctions.startExecution({ stateMachineArn: workflow.arns.sync, input });
//   await workflow.stepFunctions.waitForExecution(executionArn);
import "../polyfills";
import { fileURLToPath } from "node:url";
import type { JsonObject } from "./asl";
import { LocalStepFunctions } from "./executions";
import type { LambdaFaults } from "./lambda";
import {
  type CfnTemplate,
  functionsIn,
  stateMachinesIn,
  synthesizeTemplate,
  type TemplateFunction,
} from "./template";

export { AwsApiError, type ExecutionResult, type ExecutionStatus, LocalStepFunctions } from "./executions";
export { type LambdaFaults, LambdaFunctionError, type LambdaHandler, type LambdaTarget } from "./lambda";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Variables Lambda's runtime consumes itself: not needed in-process. */
const RUNTIME_ONLY_VARIABLES = new Set(["NODE_OPTIONS", "AWS_NODEJS_CONNECTION_REUSE_ENABLED"]);

export interface LoadWorkflowOptions {
  /** A template to run (default: synthesize the stack now, bundling skipped). */
  template?: CfnTemplate;
  projectRoot?: string;
  /** Multiplies Wait states and Retry intervals (default 1, real time). */
  waitScale?: number;
  /** Multiplies waitForTaskToken timeouts (default: waitScale). */
  taskTokenTimeoutScale?: number;
  region?: string;
  accountId?: string;
  /** Crashes to inject into the functions' invocations (fault tests); none by default. */
  lambdaFaults?: LambdaFaults;
}

export interface LocalWorkflow {
  stepFunctions: LocalStepFunctions;
  /** State machine ARNs by role ("sync", "refresh") and by logical id. */
  arns: Record<string, string>;
  /** Definitions as deployed (tokens resolved), by role and by logical id. */
  definitions: Record<string, JsonObject>;
  functions: readonly TemplateFunction[];
  /** Variables the workflow's functions expect (with their literal value in the template, if any). */
  requiredEnvironment: Record<string, string | undefined>;
  /** Throws, naming them, if variables the handlers expect are missing from `env` (default process.env). */
  checkEnvironment(env?: NodeJS.ProcessEnv): void;
}

export async function loadLocalWorkflow(options: LoadWorkflowOptions = {}): Promise<LocalWorkflow> {
  const template = options.template ?? (await synthesizeTemplate());
  const stepFunctions = new LocalStepFunctions({
    ...(options.region ? { region: options.region } : {}),
    ...(options.accountId ? { accountId: options.accountId } : {}),
    waitScale: options.waitScale ?? 1,
    ...(options.taskTokenTimeoutScale ? { taskTokenTimeoutScale: options.taskTokenTimeoutScale } : {}),
    ...(options.lambdaFaults ? { lambdaFaults: options.lambdaFaults } : {}),
  });
  const account = { region: stepFunctions.region, accountId: stepFunctions.accountId };
  const functions = functionsIn(template, account, options.projectRoot ?? PROJECT_ROOT);
  const machines = stateMachinesIn(template, account, (logicalId) =>
    stepFunctions.stateMachineArn(logicalId),
  );

  const arns: Record<string, string> = {};
  const definitions: Record<string, JsonObject> = {};
  for (const machine of machines) {
    const arn = stepFunctions.addStateMachine({
      name: machine.logicalId,
      definition: machine.definition,
      functions,
    });
    arns[machine.logicalId] = arn;
    definitions[machine.logicalId] = machine.definition;
    if (machine.role) {
      arns[machine.role] = arn;
      definitions[machine.role] = machine.definition;
    }
  }

  // Only the functions the state machines invoke (the API's functions run in the local API server).
  const definitionsText = machines.map((machine) => JSON.stringify(machine.definition)).join("\n");
  const invoked = functions.filter((fn) => definitionsText.includes(JSON.stringify(fn.arn)));
  const requiredEnvironment: Record<string, string | undefined> = {};
  for (const fn of invoked) {
    for (const [name, literal] of Object.entries(fn.environment)) {
      if (!RUNTIME_ONLY_VARIABLES.has(name)) requiredEnvironment[name] = literal;
    }
  }
  const checkEnvironment = (env: NodeJS.ProcessEnv = process.env) => {
    const missing = Object.keys(requiredEnvironment).filter((name) => !env[name]);
    if (missing.length > 0) {
      throw new Error(
        `The local workflow's handlers need these environment variables: ${missing.join(", ")}`,
      );
    }
  };
  return { stepFunctions, arns, definitions, functions, requiredEnvironment, checkEnvironment };
}

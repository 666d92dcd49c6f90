// The Step Functions port: what use cases need from the workflow engine. The adapter below implements it
// over @aws-sdk/client-sfn; locally the same client reaches the embedded stack's SFN endpoint.
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { SyncRequest } from "./contract";

export interface SfnPort {
  /**
   * Starts a sync execution named `name` (the run id, unique per state machine for 90 days).
   * Resolves `started: false` when an execution with that name already exists: a retried or overlapping
   * start is not an error.
   */
  startExecution(name: string, request: SyncRequest): Promise<{ started: boolean }>;
  /** Resumes the run waiting on `taskToken`. Resolves false when that task already ended (timed out, gone). */
  sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<boolean>;
  /** Fails the run's waiting task. Resolves false when that task already ended. */
  sendTaskFailure(taskToken: string, error: string, cause?: string): Promise<boolean>;
  /** Whether the run still waits on `taskToken` (SendTaskHeartbeat); false when that task ended. */
  taskWaiting(taskToken: string): Promise<boolean>;
}

/** The task a token named has ended (answered, timed out, or its execution stopped). */
const TASK_GONE = new Set(["TaskTimedOut", "TaskDoesNotExist"]);

const errorName = (error: unknown) => (error instanceof Error ? error.name : "");

/** Thrown by `startExecution` when the adapter was built without a state machine ARN. */
export class StateMachineNotConfiguredError extends Error {
  override name = "StateMachineNotConfiguredError";
}

/**
 * `stateMachineArn` is only needed by callers that start executions (the schedule, the API); the MFA task
 * only sends task results.
 */
export function createSfnPort(client: SFNClient, stateMachineArn?: string): SfnPort {
  return {
    async startExecution(name, request) {
      if (!stateMachineArn) throw new StateMachineNotConfiguredError("STATE_MACHINE_ARN is not configured");
      try {
        await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
        );
        return { started: true };
      } catch (error) {
        if (errorName(error) === "ExecutionAlreadyExists") return { started: false };
        throw error;
      }
    },
    async sendTaskSuccess(taskToken, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
        return true;
      } catch (error) {
        if (TASK_GONE.has(errorName(error))) return false;
        throw error;
      }
    },
    async taskWaiting(taskToken) {
      try {
        await client.send(new SendTaskHeartbeatCommand({ taskToken }));
        return true;
      } catch (error) {
        if (TASK_GONE.has(errorName(error))) return false;
        throw error;
      }
    },
    async sendTaskFailure(taskToken, error, cause) {
      try {
        await client.send(new SendTaskFailureCommand({ taskToken, error, cause }));
        return true;
      } catch (failure) {
        if (TASK_GONE.has(errorName(failure))) return false;
        throw failure;
      }
    },
  };
}

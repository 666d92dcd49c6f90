// The Step Functions client of a Lambda and the adapters over it, built once per container. Only the
// handlers that start, stop or resume runs import this module, so esbuild leaves the SFN client out of
// every other bundle. Locally `AWS_ENDPOINT_URL_SFN` points the client at the embedded stack.
import { SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { createSfnPort, type SfnPort } from "../sync/sfn";

const sfnClient = new SFNClient({});

/** The Step Functions port; `stateMachineArn` only for callers that start runs (resuming needs none). */
export function sfnPort(stateMachineArn?: string): SfnPort {
  return createSfnPort(sfnClient, stateMachineArn);
}

/** Stops a sync execution by name; one that already ended (or never started) is fine. */
export function runStopper(stateMachineArn: string): (syncRun: string) => Promise<void> {
  const executionPrefix = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:`;
  return async (syncRun) => {
    try {
      await sfnClient.send(
        new StopExecutionCommand({
          executionArn: `${executionPrefix}${syncRun}`,
          error: "MemberDeleted",
          cause: "The member was deleted through the API.",
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ExecutionDoesNotExist")) throw error;
    }
  };
}

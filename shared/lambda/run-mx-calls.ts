// Adds a sync task's MX requests to its run's counter (one UpdateItem ADD), read by Finish into the run's
// history. Only for invocations that are sync tasks (their input names the run) and sent requests.
import * as z from "zod";
import { config, tableConfigSchema } from "../config";
import { tableStores } from "./dynamo";
import { logger } from "./logger";

const runOf = z.object({
  request: z.object({ userId: z.string().min(1), memberGuid: z.string().min(1) }),
  syncRun: z.string().min(1),
});

export async function addRunMxCalls(event: unknown, calls: number): Promise<void> {
  if (calls === 0) return;
  const run = runOf.safeParse(event);
  if (!run.success) return;
  const { request, syncRun } = run.data;
  try {
    await tableStores(config(tableConfigSchema).TABLE_NAME).history.addMxCalls(
      request.userId,
      request.memberGuid,
      syncRun,
      calls,
    );
  } catch (error) {
    // A count is not worth failing (and so repeating) the task's MX work: the run's mxCalls stays short.
    logger.warn("Could not add the task's MX calls to its run", {
      error: { name: (error as Error).name, message: (error as Error).message },
    });
  }
}

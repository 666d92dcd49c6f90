// Counting the HTTP requests a sync run sends to MX, exactly and cheaply: every request of the MX client
// goes through `countingFetch`, which adds one to the counter of the invocation it runs in (an
// AsyncLocalStorage, so invocations running side by side in one process, as the local runner's Map does,
// never mix their counts). Each task invocation then adds its count to the run's counter item with one
// UpdateItem ADD (shared/lambda/workflow.ts), and Finish reads the total into the run's history. Carrying
// the counts in the state instead would touch every state of the definition and grow the payload.
import { AsyncLocalStorage } from "node:async_hooks";

const counters = new AsyncLocalStorage<{ calls: number }>();

/** `fetch`, counted against the current invocation (if one is being counted). Retries count: they are calls. */
export const countingFetch: typeof fetch = (input, init) => {
  const counter = counters.getStore();
  if (counter) counter.calls += 1;
  return fetch(input, init);
};

/** Runs `work` counting its MX requests; `record` gets the count once it ended (succeeded or not). */
export async function withMxCallCount<T>(
  work: () => Promise<T>,
  record: (calls: number) => Promise<void>,
): Promise<T> {
  const counter = { calls: 0 };
  try {
    return await counters.run(counter, work);
  } finally {
    await record(counter.calls);
  }
}

// The scheduled refresh: start a refresh run for every member whose last sync succeeded. Each member's run
// is named after the member and the UTC day, so an overlapping or repeated schedule starts nothing twice.
import type { MemberStore } from "../storage/ports";
import type { RefreshInput, RefreshOutput } from "./contract";
import { refreshExecutionName } from "./names";
import type { SfnPort } from "./sfn";
import { startSync } from "./start-sync";
import { type Clock, compactUtcDay, systemClock } from "./time";

export interface RefreshMembersOptions {
  /** Members read per page. */
  pageSize: number;
  /** Starts in flight at once (Step Functions' StartExecution is throttled per account). */
  concurrency?: number;
  /** Asked between pages: true stops early and returns the cursor to continue from (e.g. Lambda time left). */
  shouldStop?: () => boolean;
}

export async function refreshMembers(
  deps: { members: MemberStore; sfn: SfnPort; clock?: Clock },
  input: RefreshInput,
  options: RefreshMembersOptions,
): Promise<RefreshOutput> {
  const day = compactUtcDay((deps.clock ?? systemClock)());
  const concurrency = options.concurrency ?? 5;
  let cursor = input.cursor;
  let started = 0;
  do {
    const page = await deps.members.listMembersToRefresh(options.pageSize, cursor);
    const queue = [...page.members];
    const worker = async () => {
      for (let member = queue.shift(); member; member = queue.shift()) {
        // Same name as an earlier start today: Step Functions refuses it (ExecutionAlreadyExists) or, while
        // that run is still going with the same input, returns it. Either way no second run exists.
        // Identity data changes rarely: the first sync fetched it; a refresh reads the latest owners.
        const result = await startSync(
          deps.sfn,
          member,
          "refresh",
          refreshExecutionName(member.memberGuid, day),
          {
            identify: false,
          },
        );
        if (result.started) started++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    cursor = page.cursor;
  } while (cursor !== undefined && !options.shouldStop?.());
  return cursor === undefined ? { started } : { started, cursor };
}

// The sweep, the fallback for lost webhooks (MX: do not rely on webhooks alone): pages through the members
// in the sparse refresh index and enqueues each for a background refresh, spread over time with SQS
// DelaySeconds (`sweepMembersPerSecond`). One pass enqueues at most 900 s of members, then enqueues its own
// continuation 900 s later: a million members flow at a steady rate without one long invocation.
import type { MemberStore } from "../storage/ports";
import type { RefreshQueue } from "./messages";
import { BACKGROUND_REFRESH, MAX_DELAY_SECONDS } from "./settings";

export interface SweepResult {
  enqueued: number;
  /** Where the next pass starts (already enqueued as a continuation); none when the sweep is done. */
  cursor?: string;
}

export async function sweepMembers(
  deps: { members: MemberStore; queue: RefreshQueue },
  input: { cursor?: string },
  options: { membersPerSecond?: number; pageSize?: number } = {},
): Promise<SweepResult> {
  const rate = options.membersPerSecond ?? BACKGROUND_REFRESH.sweepMembersPerSecond;
  const pageSize = options.pageSize ?? BACKGROUND_REFRESH.sweepPageSize;
  const perPass = rate * MAX_DELAY_SECONDS;
  let cursor = input.cursor;
  let enqueued = 0;
  do {
    const page = await deps.members.listMembersToRefresh(Math.min(pageSize, perPass - enqueued), cursor);
    await deps.queue.send(
      page.members.map((member, index) => ({
        message: {
          kind: "member" as const,
          memberGuid: member.memberGuid,
          userId: member.userId,
          trigger: "sweep" as const,
        },
        delaySeconds: Math.floor((enqueued + index) / rate),
      })),
    );
    enqueued += page.members.length;
    cursor = page.cursor;
  } while (cursor !== undefined && enqueued < perPass);
  if (cursor === undefined) return { enqueued };
  await deps.queue.send([{ message: { kind: "sweep", cursor }, delaySeconds: MAX_DELAY_SECONDS }]);
  return { enqueued, cursor };
}

// The background purge of a member marked DELETING: its rows in steps of MEMBER_PURGE.rowsPerStep while
// the invocation has time, then its continuation on the queue; once no row is left, member.deleted and
// the member item, last. A crash anywhere leaves the member DELETING and the next delivery goes on from
// what is still stored.
import * as z from "zod";
import type { EventPublisher } from "../events/ports";
import type { MemberStore } from "../storage/ports";
import { type PurgeMessage, type PurgeQueue, purgeMessageSchema } from "./purge-queue";
import { MEMBER_PURGE } from "./settings";

export interface PurgeMemberDeps {
  members: MemberStore;
  queue: PurgeQueue;
  events: EventPublisher;
  now: () => Date;
  /** The invocation's time left (Lambda's getRemainingTimeInMillis). */
  remainingMs: () => number;
}

export type PurgeOutcome =
  /** Every row and the member item deleted; member.deleted published. */
  | { outcome: "PURGED"; removed: number }
  /** Out of time: the continuation is queued. */
  | { outcome: "CONTINUED"; removed: number }
  /** No such member (a duplicate message after the end): nothing to do. */
  | { outcome: "GONE" }
  /** The member is not marked DELETING: never purged on a message alone. */
  | { outcome: "NOT_DELETING" };

export async function purgeMember(deps: PurgeMemberDeps, message: PurgeMessage): Promise<PurgeOutcome> {
  const { userId, memberGuid } = message;
  const member = await deps.members.getMember(userId, memberGuid);
  if (!member) return { outcome: "GONE" };
  if (member.deletingAt === undefined) return { outcome: "NOT_DELETING" };

  let removed = 0;
  // At least one step per delivery, so every invocation makes progress whatever its budget.
  do {
    const step = await deps.members.purgeMemberRows(userId, memberGuid, MEMBER_PURGE.rowsPerStep);
    removed += step;
    if (step === 0) {
      // Before the member item: a crash in between publishes again on the next delivery (at least
      // once), while the other order could lose the event.
      await deps.events.publish({
        type: "member.deleted",
        detail: { user_id: userId, member_guid: memberGuid, deleted_at: deps.now().toISOString() },
      });
      await deps.members.deleteMemberItem(userId, memberGuid);
      return { outcome: "PURGED", removed };
    }
  } while (deps.remainingMs() > MEMBER_PURGE.reserveSeconds * 1000);
  await deps.queue.send(message, 0);
  return { outcome: "CONTINUED", removed };
}

export const sqsEventSchema = z.object({
  Records: z.array(z.looseObject({ messageId: z.string(), body: z.string() })),
});

export interface PurgeLog {
  info(message: string, details: Record<string, unknown>): void;
  warn(message: string, details: Record<string, unknown>): void;
}

/**
 * The queue's batch: each message on its own, and the ids of those that failed, so SQS redelivers only
 * them (partial batch response). A message that is not a purge message is logged and dropped.
 */
export async function purgeMessages(
  deps: PurgeMemberDeps & { log: PurgeLog },
  records: readonly { messageId: string; body: string }[],
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of records) {
    const message = purgeMessageSchema.safeParse(parseJson(record.body));
    if (!message.success) {
      deps.log.warn("Purge message dropped: not a purge message", { messageId: record.messageId });
      continue;
    }
    try {
      const result = await purgeMember(deps, message.data);
      deps.log.info("Member purge", { memberGuid: message.data.memberGuid, ...result });
    } catch (error) {
      deps.log.warn("Member purge failed; it resumes on the next delivery", {
        memberGuid: message.data.memberGuid,
        error: error instanceof Error ? { name: error.name, message: error.message } : {},
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

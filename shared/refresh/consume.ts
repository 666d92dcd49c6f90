// The refresh queue's consumer: each message on its own (a member to look at, or a sweep to continue), and
// the ids of those that failed, so SQS redelivers only them (partial batch response). A message that can
// never succeed (not ours to parse) is logged and dropped rather than retried into the DLQ.
import * as z from "zod";
import type { RefreshMessage, RefreshQueue } from "./messages";
import { refreshMessageSchema } from "./messages";
import type { RefreshMemberDeps, RefreshMemberResult } from "./refresh-member";
import { refreshMember } from "./refresh-member";
import { continueSweep, type SweepDeps } from "./sweep";

export const sqsEventSchema = z.object({
  Records: z.array(z.looseObject({ messageId: z.string(), body: z.string() })),
});

export interface ConsumeDeps extends RefreshMemberDeps, SweepDeps {
  queue: RefreshQueue;
  log: {
    info(message: string, details: Record<string, unknown>): void;
    warn(message: string, details: Record<string, unknown>): void;
  };
}

export type MessageOutcome = RefreshMemberResult["outcome"] | "SWEPT" | "DROPPED";

export async function consumeRefreshMessages(
  deps: ConsumeDeps,
  records: readonly { messageId: string; body: string }[],
): Promise<{ batchItemFailures: { itemIdentifier: string }[]; outcomes: MessageOutcome[] }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  const outcomes: MessageOutcome[] = [];
  // One at a time: the event source's maxConcurrency is the one knob for how hard MX is hit.
  for (const record of records) {
    const message = parseMessage(record.body);
    if (!message) {
      deps.log.warn("Refresh message dropped: not a refresh message", { messageId: record.messageId });
      outcomes.push("DROPPED");
      continue;
    }
    try {
      outcomes.push(await handle(deps, message));
    } catch (error) {
      deps.log.warn("Refresh message failed", {
        messageId: record.messageId,
        error: error instanceof Error ? { name: error.name, message: error.message } : {},
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures, outcomes };
}

async function handle(deps: ConsumeDeps, message: RefreshMessage): Promise<MessageOutcome> {
  if (message.kind === "sweep") {
    const swept = await continueSweep(deps, {
      ...(message.cursor ? { cursor: message.cursor } : {}),
      ...(message.sweep ? { sweep: message.sweep } : {}),
    });
    deps.log.info(swept.superseded ? "Sweep superseded: a newer sweep holds the lease" : "Sweep continued", {
      ...(message.sweep ? { sweepId: message.sweep.id } : {}),
      enqueued: swept.enqueued,
      more: swept.cursor !== undefined,
    });
    return "SWEPT";
  }
  const result = await refreshMember(deps, {
    memberGuid: message.memberGuid,
    trigger: message.trigger,
    ...(message.userId ? { userId: message.userId } : {}),
  });
  deps.log.info("Background refresh", {
    memberGuid: message.memberGuid,
    trigger: message.trigger,
    outcome: result.outcome,
    ...(result.outcome === "SYNCED" ? { counts: result.counts, mxCalls: result.mxCalls } : {}),
  });
  return result.outcome;
}

function parseMessage(body: string): RefreshMessage | undefined {
  try {
    const parsed = refreshMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

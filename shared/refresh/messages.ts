// What travels on the refresh queue: "look at this member" (from a webhook or the sweep) and "continue the
// sweep from here". Guids, ids and a trigger only: nothing secret.
import * as z from "zod";
import { BACKGROUND_SYNC_TRIGGERS } from "../domain/triggers";

const memberGuid = z.string().regex(/^MBR-[A-Za-z0-9-]{1,64}$/);

export const refreshMessageSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("member"),
    memberGuid,
    /** Our user id when the sender knows it (the sweep; a webhook's `user_id`), else resolved by guid. */
    userId: z.string().min(1).max(128).optional(),
    trigger: z.enum(BACKGROUND_SYNC_TRIGGERS),
  }),
  z.object({
    kind: z.literal("sweep"),
    cursor: z.string().min(1).max(4096).optional(),
    /**
     * The sweep this continues: its lease id, its pace and how many members it enqueued so far (recorded
     * at its end for the next sweep's pace). Absent on a continuation sent before sweeps took a lease.
     */
    sweep: z
      .object({
        id: z.string().min(1).max(128),
        membersPerSecond: z.number().positive().max(1000),
        enqueued: z.number().int().nonnegative(),
      })
      .optional(),
  }),
]);
export type RefreshMessage = z.infer<typeof refreshMessageSchema>;

/** The queue port: the webhook, the sweep and the consumer (continuing a sweep) send through it. */
export interface RefreshQueue {
  /** Sends every message (in batches of 10); throws when any could not be sent. */
  send(messages: readonly { message: RefreshMessage; delaySeconds?: number }[]): Promise<void>;
}

// The events this service publishes to the client app's EventBridge bus: one zod schema per event, the one
// home of their shapes. docs/events.schema.json is generated from these (local/events-schema.ts) and a
// test keeps it in step. Guids, statuses, counts and times only: never a credential, an answer or bank data.
import * as z from "zod";
import { SYNC_TRIGGERS } from "../domain/triggers";

/** EventBridge `Source` of every event. */
export const EVENT_SOURCE = "mx-connect";

const memberRef = {
  user_id: z.string().describe("The app's user id (the JWT subject)."),
  member_guid: z.string().describe("MX's member guid."),
};

export const memberSyncedDetailSchema = z
  .object({
    ...memberRef,
    trigger: z.enum(SYNC_TRIGGERS).describe("What started the sync."),
    synced_at: z.string().describe("When the sync ended (ISO 8601)."),
    changes_available: z
      .literal(true)
      .describe("New or updated data may be read now: owners, accounts and transactions."),
    counts: z
      .object({
        rows_written: z
          .number()
          .int()
          .describe("Owners, accounts and transactions written (new or updated)."),
        rows_removed: z.number().int().describe("Stored rows removed (pending transactions MX dropped)."),
      })
      .describe("What the sync changed."),
  })
  .describe("A member's data was synced from MX.");

export const memberNeedsUserDetailSchema = z
  .object({
    ...memberRef,
    connection_status: z.string().optional().describe("MX's connection status, e.g. DENIED, EXPIRED."),
    reason: z.string().describe("What the user must do, in plain words."),
    occurred_at: z.string().describe("ISO 8601."),
  })
  .describe("The member cannot sync until the user acts: reconnect it (POST /v1/members/{guid}/reconnect).");

export const memberDeletedDetailSchema = z
  .object({ ...memberRef, deleted_at: z.string().describe("ISO 8601.") })
  .describe("The member and every row stored for it were deleted.");

/** Each event's EventBridge `DetailType` and its `Detail`. */
export const EVENT_DETAIL_SCHEMAS = {
  "member.synced": memberSyncedDetailSchema,
  "member.needs_user": memberNeedsUserDetailSchema,
  "member.deleted": memberDeletedDetailSchema,
} as const;

export type AppEventType = keyof typeof EVENT_DETAIL_SCHEMAS;

export type AppEvent = {
  [T in AppEventType]: { type: T; detail: z.infer<(typeof EVENT_DETAIL_SCHEMAS)[T]> };
}[AppEventType];

const envelope = <T extends AppEventType>(type: T) =>
  z.object({
    source: z.literal(EVENT_SOURCE),
    "detail-type": z.literal(type),
    detail: EVENT_DETAIL_SCHEMAS[type],
  });

/** A published event as the app's rule receives it: EventBridge's envelope fields that matter, and the detail. */
export const appEventSchema = z.discriminatedUnion("detail-type", [
  envelope("member.synced"),
  envelope("member.needs_user"),
  envelope("member.deleted"),
]);

/** The JSON Schema of the events (draft 2020-12), as committed in docs/events.schema.json. */
export function eventsJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(appEventSchema, { target: "draft-2020-12" }),
    title: "mx-connect events",
    description: `Events on the stack's bus (output EventBusName), Source "${EVENT_SOURCE}"; DetailType names the event.`,
  };
}

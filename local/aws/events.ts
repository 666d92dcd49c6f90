// EventBridge PutEvents for the local AWS endpoint (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): keeps
// every published event in memory (tests read them; `npm start` prints each as it arrives). The bus must
// be the stack's: an event to another bus fails its entry, as EventBridge does for an unknown bus.
import { randomUUID } from "node:crypto";
import * as z from "zod";

/** The bus the embedded stack's handlers publish to (EVENT_BUS_NAME locally). */
export const LOCAL_EVENT_BUS_NAME = "mx-connect-events";

export interface PublishedEvent {
  id: string;
  time: Date;
  eventBusName: string;
  source: string;
  detailType: string;
  detail: unknown;
}

const putEventsRequest = z.object({
  Entries: z
    .array(
      z.object({
        EventBusName: z.string().optional(),
        Source: z.string().min(1),
        DetailType: z.string().min(1),
        Detail: z.string().min(1),
      }),
    )
    .min(1)
    .max(10),
});

export interface LocalEventBridge {
  readonly busName: string;
  published(): PublishedEvent[];
  /** Called for each event as it is accepted (npm start prints them). */
  onEvent(listener: (event: PublishedEvent) => void): void;
  putEvents(body: unknown, parse: <S extends z.ZodType>(schema: S, body: unknown) => z.output<S>): unknown;
}

export function localEventBridge(region: string, accountId: string): LocalEventBridge {
  const events: PublishedEvent[] = [];
  const listeners: ((event: PublishedEvent) => void)[] = [];
  const busArn = `arn:aws:events:${region}:${accountId}:event-bus/${LOCAL_EVENT_BUS_NAME}`;
  return {
    busName: LOCAL_EVENT_BUS_NAME,
    published: () => [...events],
    onEvent: (listener) => {
      listeners.push(listener);
    },
    putEvents(body, parse) {
      const { Entries } = parse(putEventsRequest, body);
      let failed = 0;
      const results = Entries.map((entry) => {
        const bus = entry.EventBusName ?? "default";
        let detail: unknown;
        try {
          detail = JSON.parse(entry.Detail);
        } catch {
          failed++;
          return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
        }
        if (bus !== LOCAL_EVENT_BUS_NAME && bus !== busArn) {
          failed++;
          return { ErrorCode: "NotFoundException", ErrorMessage: `Event bus ${bus} does not exist.` };
        }
        const event: PublishedEvent = {
          id: randomUUID(),
          time: new Date(),
          eventBusName: LOCAL_EVENT_BUS_NAME,
          source: entry.Source,
          detailType: entry.DetailType,
          detail,
        };
        events.push(event);
        for (const listener of listeners) listener(event);
        return { EventId: event.id };
      });
      return { FailedEntryCount: failed, Entries: results };
    },
  };
}

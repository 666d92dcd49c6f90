// EventPublisher over EventBridge PutEvents. The client is passed in (built once per container by
// shared/events/lambda.ts); each event's detail is checked against its schema before it leaves.
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { EventPublisher } from "./ports";
import { type AppEvent, EVENT_DETAIL_SCHEMAS, EVENT_SOURCE } from "./schemas";

export class EventPublishError extends Error {
  override name = "EventPublishError";
}

export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): EventPublisher {
  return {
    async publish(event: AppEvent) {
      // Strict on the way out: a field that is not in the schema (a secret by mistake) never leaves.
      const detail = EVENT_DETAIL_SCHEMAS[event.type].strict().parse(event.detail);
      const result = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: eventBusName,
              Source: EVENT_SOURCE,
              DetailType: event.type,
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
      // PutEvents answers 200 with per-entry failures: one failed entry means the event was not published.
      if ((result.FailedEntryCount ?? 0) > 0) {
        const entry = result.Entries?.[0];
        throw new EventPublishError(
          `PutEvents refused ${event.type}: ${entry?.ErrorCode ?? "unknown error"}`,
        );
      }
    },
  };
}

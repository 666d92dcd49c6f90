// The port use cases publish app events through (the EventBridge adapter: shared/events/eventbridge.ts).
import type { AppEvent } from "./schemas";

export interface EventPublisher {
  /** Publishes one event; throws when the bus refused it (the caller's retry publishes it again). */
  publish(event: AppEvent): Promise<void>;
}

export type { AppEvent, AppEventType } from "./schemas";

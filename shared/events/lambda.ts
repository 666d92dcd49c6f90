// The app-events publisher of a Lambda: the EventBridge client built once per container, by the handlers
// that publish (only their bundles load the client). Endpoint from the standard environment (locally
// AWS_ENDPOINT_URL_EVENTBRIDGE points at the embedded stack).
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { config, eventsConfigSchema } from "../config";
import { eventBridgePublisher } from "./eventbridge";
import type { EventPublisher } from "./ports";

let built: EventPublisher | undefined;

export function eventPublisher(): EventPublisher {
  built ??= eventBridgePublisher(new EventBridgeClient({}), config(eventsConfigSchema).EVENT_BUS_NAME);
  return built;
}

// The app events' contract: docs/events.schema.json is what shared/events/schemas.ts generates (no drift),
// and the EventBridge adapter, through the real SDK client against the local AWS endpoint, publishes events
// that validate against that committed file, refuses a field the schema lacks before anything leaves, and
// reports an entry the bus refused as an error.
import { readFileSync } from "node:fs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import Ajv2020 from "ajv/dist/2020";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../local/aws/index";
import { EVENTS_SCHEMA_PATH, eventsSchemaText } from "../local/events-schema";
import { EventPublishError, eventBridgePublisher } from "../shared/events/eventbridge";
import type { AppEvent } from "../shared/events/ports";

let aws: LocalAws;
let client: EventBridgeClient;

beforeAll(async () => {
  aws = await startLocalAws();
  client = new EventBridgeClient({
    endpoint: aws.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  client?.destroy();
  await aws?.close();
});

const synced: AppEvent = {
  type: "member.synced",
  detail: {
    user_id: "user-1",
    member_guid: "MBR-1",
    trigger: "user",
    synced_at: "2026-12-01T10:00:00.000Z",
    changes_available: true,
    counts: { rows_written: 12, rows_removed: 1 },
  },
};

describe("docs/events.schema.json", () => {
  it("is exactly what the zod schemas generate (regenerate: npx tsx local/events-schema.ts)", () => {
    // Act
    const committed = readFileSync(EVENTS_SCHEMA_PATH, "utf8");

    // Assess
    expect(JSON.parse(committed)).toEqual(JSON.parse(eventsSchemaText()));
  });
});

describe("the EventBridge publisher", () => {
  it("publishes each event on the bus, as the committed JSON Schema describes it", async () => {
    // Prepare
    const publisher = eventBridgePublisher(client, aws.events.busName);
    const before = aws.events.published().length;
    const validate = new Ajv2020({ strict: false }).compile(
      JSON.parse(readFileSync(EVENTS_SCHEMA_PATH, "utf8")),
    );

    // Act
    await publisher.publish(synced);
    await publisher.publish({
      type: "member.needs_user",
      detail: {
        user_id: "user-1",
        member_guid: "MBR-1",
        connection_status: "DENIED",
        reason: "The bank did not accept the credentials.",
        occurred_at: "2026-12-01T10:00:00.000Z",
      },
    });
    await publisher.publish({
      type: "member.deleted",
      detail: { user_id: "user-1", member_guid: "MBR-1", deleted_at: "2026-12-01T10:00:00.000Z" },
    });

    // Assess
    const events = aws.events.published().slice(before);
    expect(events.map((e) => e.detailType)).toEqual(["member.synced", "member.needs_user", "member.deleted"]);
    for (const event of events) {
      const asReceived = { source: event.source, "detail-type": event.detailType, detail: event.detail };
      expect(validate(asReceived), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("refuses a field the schema does not name (a credential by mistake) before anything is sent", async () => {
    // Prepare
    const publisher = eventBridgePublisher(client, aws.events.busName);
    const before = aws.events.published().length;
    const leaky = { ...synced, detail: { ...synced.detail, password: "hunter2" } } as AppEvent;

    // Act
    const publishing = publisher.publish(leaky);

    // Assess
    await expect(publishing).rejects.toThrow();
    expect(aws.events.published()).toHaveLength(before);
  });

  it("throws when the bus refuses the entry (PutEvents answers 200 with a failed entry)", async () => {
    // Prepare
    const publisher = eventBridgePublisher(client, "no-such-bus");

    // Act
    const publishing = publisher.publish(synced);

    // Assess
    await expect(publishing).rejects.toBeInstanceOf(EventPublishError);
  });
});

// MX webhooks sent by the sandbox to a real HTTP receiver on 127.0.0.1: aggregation (member_data_updated)
// and connection status payloads, basic auth, retries over a day on the sandbox clock, and the knobs that
// drop, duplicate, reorder, null and extend webhooks so a consumer's robustness can be proven.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CONNECTION_STATUS_IDS,
  type KnobsPatch,
  MX_KNOBS,
  RETRY_DELAYS_MS,
  type Sandbox,
  startSandbox,
} from "../local/sandbox/index";
import { createMxbankMember, createUser, mxCaller, pollUntilSettled } from "./sandbox-helpers";

const DAY = 86_400_000;

interface Received {
  authorization: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

describe("MX sandbox: webhooks", () => {
  let receiver: Server;
  let receiverUrl = "";
  const received: Received[] = [];
  /** Status the receiver answers with (a test may make it fail). */
  let answer = 204;
  let sandbox: Sandbox | undefined;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/mx/webhooks`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
    received.length = 0;
    answer = 204;
  });

  async function world(webhooks: KnobsPatch["webhooks"] = {}) {
    sandbox = await startSandbox({
      knobs: MX_KNOBS,
      aggregationMs: 10,
      seed: 5,
      webhooks: { url: receiverUrl, username: "hook-user", password: "hook-pass", ...webhooks },
    });
    const call = mxCaller(sandbox);
    const user = await createUser(call, "hooked");
    return { sandbox, call, user };
  }

  it("POSTs member_data_updated with basic auth after a foreground aggregation, and is_background after 24 h", async () => {
    // Prepare
    const { sandbox: sb, call, user } = await world();
    const member = await createMxbankMember(call, user, "password");
    await pollUntilSettled(call, user, member);
    // Act
    await sb.flushWebhooks();
    const foreground = received.map((r) => r.body);
    await sb.advanceTime(DAY + 60_000);
    const background = received.slice(foreground.length).map((r) => r.body);
    // Assess
    expect(received[0]?.authorization).toBe(`Basic ${Buffer.from("hook-user:hook-pass").toString("base64")}`);
    expect(received[0]?.contentType).toMatch(/^application\/json/);
    expect(foreground).toEqual([
      {
        action: "member_data_updated",
        completed_at: expect.any(Number),
        completed_on: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        is_background: false,
        job_guid: expect.stringMatching(/^JOB-/),
        member_guid: member,
        transactions_created_count: 3 * 120,
        transactions_updated_count: 0,
        type: "AGGREGATION",
        user_guid: user,
        user_id: "hooked",
      },
    ]);
    expect(background).toHaveLength(1);
    expect(background[0]).toMatchObject({ is_background: true, member_guid: member, type: "AGGREGATION" });
    expect(background[0]?.transactions_created_count).toBeGreaterThan(0);
    expect(sb.webhooks().every((w) => w.state === "delivered")).toBe(true);
  });

  it("sends connection status webhooks (action CHANGED) for CHALLENGED, then EXPIRED", async () => {
    // Prepare
    const { sandbox: sb, call, user } = await world();
    const member = await createMxbankMember(call, user, "challenge");
    await pollUntilSettled(call, user, member);
    // Act
    await sb.advanceTime(MX_KNOBS.challengeExpiryMs + 1);
    // Assess
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({
        action: "CHANGED",
        connection_status: "CHALLENGED",
        connection_status_id: CONNECTION_STATUS_IDS.CHALLENGED,
        connection_status_message: expect.any(String),
        member_guid: member,
        type: "CONNECTION_STATUS",
        user_guid: user,
      }),
      expect.objectContaining({ connection_status: "EXPIRED", connection_status_id: 19 }),
    ]);
  });

  it("retries a receiver that does not answer 2xx 12 times over about a day, on the sandbox clock", async () => {
    // Prepare
    answer = 500;
    const { sandbox: sb, call, user } = await world();
    const member = await createMxbankMember(call, user, "password");
    await pollUntilSettled(call, user, member);
    await sb.flushWebhooks();
    // Act
    await sb.advanceTime(DAY + 60_000);
    const [record] = sb
      .webhooks()
      .filter((w) => w.payload.member_guid === member && !w.payload.is_background);
    // Assess
    expect(record?.state).toBe("failed");
    expect(record?.attempts).toHaveLength(1 + RETRY_DELAYS_MS.length);
    expect(RETRY_DELAYS_MS).toHaveLength(12);
    const span = (record?.attempts.at(-1)?.at ?? 0) - (record?.attempts[0]?.at ?? 0);
    expect(span).toBeGreaterThan(20 * 3_600_000);
    expect(span).toBeLessThan(DAY + 3_600_000);
    expect(record?.attempts.every((a) => a.status === 500)).toBe(true);
  });

  it("a retry succeeds once the receiver recovers", async () => {
    // Prepare
    answer = 503;
    const { sandbox: sb, call, user } = await world();
    const member = await createMxbankMember(call, user, "password");
    await pollUntilSettled(call, user, member);
    await sb.flushWebhooks();
    answer = 200;
    // Act
    await sb.advanceTime(RETRY_DELAYS_MS[0] ?? 0);
    // Assess
    const [record] = sb.webhooks();
    expect(record?.state).toBe("delivered");
    expect(record?.attempts.map((a) => a.status)).toEqual([503, 200]);
  });

  it("knobs: dropRate 1 sends nothing; duplicateRate 1 sends each twice", async () => {
    // Prepare
    const dropped = await world({ dropRate: 1 });
    const m1 = await createMxbankMember(dropped.call, dropped.user, "password");
    await pollUntilSettled(dropped.call, dropped.user, m1);
    await dropped.sandbox.flushWebhooks();
    const droppedRecords = dropped.sandbox.webhooks();
    const droppedReceived = received.length;
    await dropped.sandbox.close();
    // Act
    const duplicated = await world({ duplicateRate: 1 });
    const m2 = await createMxbankMember(duplicated.call, duplicated.user, "password");
    await pollUntilSettled(duplicated.call, duplicated.user, m2);
    await duplicated.sandbox.flushWebhooks();
    // Assess
    expect(droppedReceived).toBe(0);
    expect(droppedRecords.map((w) => w.state)).toEqual(["dropped"]);
    expect(received).toHaveLength(2);
    expect(received[0]?.body).toEqual(received[1]?.body);
    expect(duplicated.sandbox.webhooks()[1]?.duplicateOf).toBe(1);
  });

  it("knobs: outOfOrder delivers what is due together newest first; nulls and an unknown field", async () => {
    // Prepare
    const { sandbox: sb, call, user } = await world({ outOfOrder: true, nulls: true, unknownField: true });
    const first = await createMxbankMember(call, user, "password");
    const second = await createMxbankMember(call, user, "other-password");
    await pollUntilSettled(call, user, first);
    await pollUntilSettled(call, user, second);
    // Act
    await sb.advanceTime(DAY + 60_000);
    // Assess: the two background webhooks, due at the same moment, arrive newest first.
    const background = received.map((r) => r.body).filter((b) => b.is_background === true);
    expect(background.map((b) => b.member_guid)).toEqual([second, first]);
    for (const body of received.map((r) => r.body)) {
      expect(body).toMatchObject({ job_guid: null, user_id: null, transactions_updated_count: null });
      expect(body.sandbox_added_field).toBeDefined();
    }
  });

  it("with no URL configured, records webhooks (unsent) for tests to read", async () => {
    // Prepare
    sandbox = await startSandbox({ knobs: MX_KNOBS, aggregationMs: 10 });
    const call = mxCaller(sandbox);
    const user = await createUser(call, "unhooked");
    const member = await createMxbankMember(call, user, "LOCKED");
    await pollUntilSettled(call, user, member);
    // Act
    await sandbox.flushWebhooks();
    const records = sandbox.webhooks();
    // Assess
    expect(records.map((w) => [w.state, w.payload.connection_status])).toEqual([["unsent", "LOCKED"]]);
    expect(received).toEqual([]);
  });
});

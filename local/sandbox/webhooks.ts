// MX's webhooks, sent from the sandbox (docs.mx.com/resources/webhooks): an HTTPS POST of JSON with HTTP
// basic auth to the configured URL; a receiver that does not answer 2xx is retried about 12 times over a
// day. Aggregation (`member_data_updated`) and connection status (`CHANGED`) payloads as MX documents them.
// Attempts are due on the sandbox clock, so moving the clock replays a day of retries at once.
import type { SandboxKnobs, WebhookKnobs } from "./knobs";
import { CONNECTION_MESSAGES, CONNECTION_STATUS_IDS, type MemberEvent } from "./members";
import { guidFrom } from "./prng";

export interface WebhookAttempt {
  /** Sandbox time the attempt was due (ms). */
  at: number;
  /** The receiver's HTTP status; null when it did not answer (refused, timed out). */
  status: number | null;
}

export interface WebhookRecord {
  id: number;
  /** The JSON body, exactly as sent. */
  payload: Record<string, unknown>;
  /** Sandbox time of the event (ms). */
  createdAt: number;
  /**
   * pending: will be (re)tried; delivered: a 2xx came back; failed: retries exhausted; dropped: the
   * `dropRate` knob swallowed it; unsent: no URL was configured when it was due.
   */
  state: "pending" | "delivered" | "failed" | "dropped" | "unsent";
  attempts: WebhookAttempt[];
  nextAttemptAt: number | null;
  /** For a copy made by the `duplicateRate` knob: the id of the original. */
  duplicateOf: number | null;
}

/** Delay before retry n (1-based): 12 retries spread over about 24 hours. */
export const RETRY_DELAYS_MS = [1, 5, 15, 30, 60, 60, 120, 120, 180, 240, 240, 360].map((m) => m * 60_000);

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function payloadOf(event: MemberEvent, seed: number, sequence: number, knobs: WebhookKnobs) {
  const { member } = event;
  const jobGuid = guidFrom("JOB", seed, member.guid, "job", sequence);
  const payload: Record<string, unknown> =
    event.kind === "aggregation"
      ? {
          action: "member_data_updated",
          completed_at: Math.floor(event.at / 1000),
          completed_on: isoDay(event.at),
          ...(event.type === "AGGREGATION" ? { is_background: event.isBackground } : {}),
          job_guid: knobs.nulls ? null : jobGuid,
          member_guid: member.guid,
          transactions_created_count: event.created,
          transactions_updated_count: knobs.nulls ? null : event.updated,
          type: event.type,
          user_guid: member.userGuid,
          user_id: knobs.nulls ? null : member.userId,
        }
      : {
          action: "CHANGED",
          connection_status: event.status,
          connection_status_id: CONNECTION_STATUS_IDS[event.status] ?? null,
          connection_status_message: knobs.nulls ? null : (CONNECTION_MESSAGES[event.status] ?? null),
          member_guid: member.guid,
          type: "CONNECTION_STATUS",
          user_guid: member.userGuid,
        };
  // MX may add fields at any time: a consumer must ignore what it does not know.
  if (knobs.unknownField) payload.sandbox_added_field = { note: "a field this receiver has never seen" };
  return payload;
}

export class WebhookOutbox {
  readonly records: WebhookRecord[] = [];
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly knobs: () => SandboxKnobs,
    private readonly random: () => number,
    private readonly seed: number,
  ) {}

  /** Queues the webhook for an event, applying the drop/duplicate knobs. */
  add(event: MemberEvent): void {
    const knobs = this.knobs().webhooks;
    const payload = payloadOf(event, this.seed, this.records.length, knobs);
    const dropped = knobs.dropRate > 0 && this.random() < knobs.dropRate;
    const original = this.push(payload, event.at, dropped);
    if (!dropped && knobs.duplicateRate > 0 && this.random() < knobs.duplicateRate) {
      this.push(payload, event.at, false).duplicateOf = original.id;
    }
  }

  private push(payload: Record<string, unknown>, at: number, dropped: boolean): WebhookRecord {
    const record: WebhookRecord = {
      id: this.records.length + 1,
      payload: structuredClone(payload),
      createdAt: at,
      state: dropped ? "dropped" : "pending",
      attempts: [],
      nextAttemptAt: dropped ? null : at,
      duplicateOf: null,
    };
    this.records.push(record);
    return record;
  }

  hasDue(now: number): boolean {
    return this.records.some((r) => r.state === "pending" && (r.nextAttemptAt ?? Infinity) <= now);
  }

  /** Sends everything due by `now` (retries included, in due order), one run at a time. */
  deliverDue(now: () => number): Promise<void> {
    this.sending = this.sending.then(() => this.run(now)).catch(() => undefined);
    return this.sending;
  }

  private async run(now: () => number): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const due = this.records
        .filter((r) => r.state === "pending" && (r.nextAttemptAt ?? Infinity) <= now())
        .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.id - b.id);
      if (due.length === 0) return;
      if (this.knobs().webhooks.outOfOrder) due.reverse();
      for (const record of due) await this.attempt(record);
    }
  }

  private async attempt(record: WebhookRecord): Promise<void> {
    const knobs = this.knobs().webhooks;
    const at = record.nextAttemptAt ?? 0;
    if (knobs.url === null) {
      record.state = "unsent";
      record.nextAttemptAt = null;
      return;
    }
    let status: number | null = null;
    try {
      const response = await fetch(knobs.url, {
        method: "POST",
        headers: {
          Authorization: `Basic ${Buffer.from(`${knobs.username}:${knobs.password}`).toString("base64")}`,
          "Content-Type": "application/json; charset=utf-8",
          Accept: "application/json",
        },
        body: JSON.stringify(record.payload),
        signal: AbortSignal.timeout(knobs.timeoutMs),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      status = null;
    }
    record.attempts.push({ at, status });
    if (status !== null && status >= 200 && status < 300) {
      record.state = "delivered";
      record.nextAttemptAt = null;
      return;
    }
    const delay = RETRY_DELAYS_MS[record.attempts.length - 1];
    if (delay === undefined) {
      record.state = "failed";
      record.nextAttemptAt = null;
    } else record.nextAttemptAt = at + delay;
  }
}

// The sandbox's in-memory world: users, members, OAuth tokens, knobs, counters, its clock and webhooks.
import { randomBytes } from "node:crypto";
import { notFound } from "./errors";
import type { SandboxKnobs } from "./knobs";
import { advance, type MemberContext, type MemberRecord } from "./members";
import { guidFrom, hash32, mulberry32 } from "./prng";
import { WebhookOutbox } from "./webhooks";

export interface UserRecord {
  guid: string;
  id: string | null;
  email: string | null;
  metadata: string | null;
  isDisabled: boolean;
}

export interface OauthToken {
  memberGuid: string;
  used: boolean;
  /** Sandbox time after which the link no longer works (MX's oauth_window_uri is short-lived). */
  expiresAt: number;
}

export class SandboxState {
  readonly users = new Map<string, UserRecord>();
  readonly members = new Map<string, MemberRecord>();
  /** Every guid ever issued, so a re-created object never gets a deleted one's guid. */
  private readonly issued = new Set<string>();
  /** Single-use OAuth window tokens (the `oauth_window_uri`). */
  readonly oauthWindows = new Map<string, OauthToken>();
  /** Single-use authorize/deny decisions on an opened OAuth window. */
  readonly oauthDecisions = new Map<string, OauthToken>();
  /** Fault decisions come from their own seeded stream, so they do not disturb the data. */
  readonly faultRandom: () => number;
  stats = {
    requests: 0,
    byStatus: {} as Record<number, number>,
    /** `<METHOD> <route template>`, e.g. `POST /users/{user_guid}/members/{member_guid}/aggregate`. */
    byRoute: {} as Record<string, number>,
  };
  /** Every bank credential and typed MFA answer MX was given: what the product must never let out. */
  readonly secretsReceived = new Set<string>();
  received(...values: (string | undefined)[]): void {
    for (const value of values) if (value) this.secretsReceived.add(value);
  }
  /** The sandbox clock: real time plus this offset, moved by tests (sandbox.advanceTime). */
  clockOffsetMs = 0;
  readonly webhooks: WebhookOutbox;
  /** What member jobs need: the current knobs and where their events go. */
  readonly ctx: MemberContext;

  constructor(
    readonly seed: number,
    public knobs: SandboxKnobs,
  ) {
    this.faultRandom = mulberry32(hash32(seed, "faults"));
    this.webhooks = new WebhookOutbox(() => this.knobs, mulberry32(hash32(seed, "webhooks")), seed);
    const state = this;
    this.ctx = {
      get knobs() {
        return state.knobs;
      },
      emit: (event) => this.webhooks.add(event),
    };
  }

  /** The sandbox's "now": every job, expiry, data date and webhook uses it. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Replays every member to now (jobs, expiries, background aggregations), in creation order. */
  advanceAll(now = this.now()): void {
    for (const member of this.members.values()) advance(member, now, this.ctx);
  }

  /** A deterministic guid from the names; a counter is mixed in only when that guid was issued before. */
  mintGuid(prefix: string, ...parts: (string | number)[]): string {
    for (let attempt = 0; ; attempt++) {
      const guid = guidFrom(prefix, this.seed, ...parts, ...(attempt === 0 ? [] : [`#${attempt}`]));
      if (!this.issued.has(guid)) {
        this.issued.add(guid);
        return guid;
      }
    }
  }

  mintToken(): string {
    return randomBytes(24).toString("base64url");
  }

  user(userGuid: string): UserRecord {
    const user = this.users.get(userGuid);
    if (!user) throw notFound("user");
    return user;
  }

  /** The member, only if it belongs to that user (else 404, as MX does), advanced to now. */
  member(userGuid: string, memberGuid: string, now: number): MemberRecord {
    this.user(userGuid);
    const member = this.members.get(memberGuid);
    if (!member || member.userGuid !== userGuid) throw notFound("member");
    advance(member, now, this.ctx);
    return member;
  }

  membersOf(userGuid: string, now: number): MemberRecord[] {
    this.user(userGuid);
    const list = [...this.members.values()].filter((m) => m.userGuid === userGuid);
    for (const m of list) advance(m, now, this.ctx);
    return list;
  }

  deleteUser(userGuid: string): void {
    this.user(userGuid);
    for (const m of this.membersOf(userGuid, this.now())) this.members.delete(m.guid);
    this.users.delete(userGuid);
  }
}

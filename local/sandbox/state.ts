// The sandbox's in-memory world: users, members, OAuth tokens, knobs, counters.
import { randomBytes } from "node:crypto";
import { notFound } from "./errors";
import type { SandboxKnobs } from "./knobs";
import { advance, type MemberRecord } from "./members";
import { guidFrom, hash32, mulberry32 } from "./prng";

export interface UserRecord {
  guid: string;
  id: string | null;
  email: string | null;
  metadata: string | null;
  isDisabled: boolean;
}

interface OauthToken {
  memberGuid: string;
  used: boolean;
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
  stats = { requests: 0, byStatus: {} as Record<number, number> };

  constructor(
    readonly seed: number,
    public knobs: SandboxKnobs,
  ) {
    this.faultRandom = mulberry32(hash32(seed, "faults"));
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
    advance(member, now);
    return member;
  }

  membersOf(userGuid: string, now: number): MemberRecord[] {
    this.user(userGuid);
    const list = [...this.members.values()].filter((m) => m.userGuid === userGuid);
    for (const m of list) advance(m, now);
    return list;
  }

  deleteUser(userGuid: string): void {
    this.user(userGuid);
    for (const m of this.membersOf(userGuid, Date.now())) this.members.delete(m.guid);
    this.users.delete(userGuid);
  }
}

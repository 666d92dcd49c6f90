// Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. A name is also the
// run's id (syncRun) and, being unique per state machine, what makes a repeated start a no-op. Every run
// name is built here, through `executionName`'s length guard.
import { createHash } from "node:crypto";

const MAX = 80;

/**
 * `<memberGuid>-<suffix>`, deterministic. MX guids are about 40 characters, so this fits as is; a guid too
 * long to fit is shortened to a prefix plus a hash of the whole guid, keeping names distinct.
 */
export function executionName(memberGuid: string, suffix: string): string {
  const safeSuffix = suffix.replace(/[^A-Za-z0-9_-]/g, "_");
  const name = `${memberGuid}-${safeSuffix}`;
  if (name.length <= MAX) return name;
  const hash = createHash("sha256").update(memberGuid).digest("hex").slice(0, 12);
  const room = MAX - safeSuffix.length - hash.length - 2;
  return `${memberGuid.slice(0, Math.max(0, room))}-${hash}-${safeSuffix}`.slice(0, MAX);
}

/** A member's first sync after a credential create: a retried create starts nothing new. */
export const initialRunName = (memberGuid: string) => executionName(memberGuid, "initial");

/** The first sync after the user came back through the OAuth callback (one per signed state). */
export const oauthRunName = (memberGuid: string, nonce: string) =>
  executionName(memberGuid, `oauth-${nonce}`);

/** A user-asked refresh: calls within the same 10 s collapse into one run (a double click). */
export const userRefreshRunName = (memberGuid: string, now: Date) =>
  executionName(memberGuid, `refresh-${Math.floor(now.getTime() / 10_000)}`);

/** The sync after a reconnect with new credentials: a retried request within the same 10 s starts one run. */
export const reconnectRunName = (memberGuid: string, now: Date) =>
  executionName(memberGuid, `reconnect-${Math.floor(now.getTime() / 10_000)}`);

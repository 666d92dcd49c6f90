// Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. A name is also the
// run's id (syncRun) and, being unique per state machine, what makes a repeated start a no-op.
import { createHash } from "node:crypto";

export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
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

/** The scheduled refresh's run for a member on a UTC day: an overlapping schedule starts nothing twice. */
export function refreshExecutionName(memberGuid: string, yyyymmdd: string): string {
  return executionName(memberGuid, `refresh-${yyyymmdd}`);
}

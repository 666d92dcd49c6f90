// The changes feed's cursor: where an app's copy stands. Opaque to the app and tamper-proof: base64url(JSON)
// "." base64url(HMAC-SHA256), keyed with the API signing secret's purpose-bound `changesCursor` key. It
// names the user and the filter it was issued for, so it can be used by that user, for that view, only.
import { createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { ChangesCursorError } from "../domain/errors";
import type { ChangeFilter, SnapshotPosition } from "../storage/ports";

export interface FeedPosition {
  /** The last change-log sequence number the copy has applied (or will, once the snapshot is done). */
  seq: number;
  /** Epoch ms since which `seq` is known: entries after it were written after this, so still kept. */
  since: number;
  /** Present while the first read (no cursor) still walks the stored rows. */
  snapshot?: SnapshotPosition;
}

// MX guids (the snapshot position holds a transaction guid): letters, digits and a few separators.
const guid = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);
const payloadSchema = z.strictObject({
  v: z.literal(1),
  u: z.string().min(1).max(128),
  m: guid.optional(),
  a: guid.optional(),
  s: z.number().int().nonnegative(),
  t: z.number().int().positive(),
  p: z.strictObject({ a: guid.optional(), g: guid.optional() }).optional(),
});

const mac = (key: Buffer, payload: string) => createHmac("sha256", key).update(payload).digest();

export function signFeedCursor(key: Buffer, userId: string, filter: ChangeFilter, position: FeedPosition) {
  const payload = Buffer.from(
    JSON.stringify({
      v: 1,
      u: userId,
      m: filter.memberGuid,
      a: filter.accountGuid,
      s: position.seq,
      t: position.since,
      p: position.snapshot && { a: position.snapshot.accountGuid, g: position.snapshot.afterGuid },
    }),
  ).toString("base64url");
  return `${payload}.${mac(key, payload).toString("base64url")}`;
}

/**
 * The position a cursor names, once its signature holds (else "invalid"), it is the caller's (else
 * "foreign"), it was issued for the same filter (else "invalid") and it is younger than `maxAgeMs` (else
 * "expired": the entries after it may be gone, the app must start again).
 */
export function verifyFeedCursor(
  key: Buffer,
  cursor: string,
  expected: { userId: string; filter: ChangeFilter; now: Date; maxAgeMs: number },
): FeedPosition {
  const [payload, signature, extra] = cursor.split(".");
  if (!payload || !signature || extra !== undefined) throw new ChangesCursorError("invalid");
  // Compared as text: base64url decoding skips stray characters and the last character's spare bits, so
  // comparing decoded bytes would accept other spellings of the same signature.
  const given = Buffer.from(signature);
  const wanted = Buffer.from(mac(key, payload).toString("base64url"));
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    throw new ChangesCursorError("invalid");
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new ChangesCursorError("invalid");
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) throw new ChangesCursorError("invalid");
  const { u, m, a, s, t, p } = parsed.data;
  if (u !== expected.userId) throw new ChangesCursorError("foreign");
  if (m !== expected.filter.memberGuid || a !== expected.filter.accountGuid)
    throw new ChangesCursorError("invalid");
  if (expected.now.getTime() - t > expected.maxAgeMs) throw new ChangesCursorError("expired");
  return { seq: s, since: t, ...(p ? { snapshot: { accountGuid: p.a, afterGuid: p.g } } : {}) };
}

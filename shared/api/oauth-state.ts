// The OAuth callback's `state`: a signed, short-lived, single-use token that names the user and member.
// Format: base64url(JSON payload) "." base64url(HMAC-SHA256(payload)). The key comes from Secrets
// Manager; the nonce makes each state single-use (OnceStore.claim) once the signature and expiry hold.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { memberGuidSchema, userIdSchema } from "./schemas";

/** A state lives at most this long: the user signs in at the bank within minutes or starts again. */
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;

export interface OauthState {
  userId: string;
  memberGuid: string;
  nonce: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface ApiKeys {
  /** Signs OAuth states. */
  oauthState: Buffer;
  /** Keys the HMAC that turns a create-member request into its idempotency id. */
  memberId: Buffer;
  /** Signs the transactions changes feed's cursors. */
  changesCursor: Buffer;
}

/**
 * One secret, two purpose-bound keys (HKDF-SHA256 with distinct labels), so a value signed for one use can
 * never be replayed as the other.
 */
export function deriveApiKeys(secret: string): ApiKeys {
  if (secret.length < 32) throw new Error("The API signing secret must be at least 32 characters.");
  const derive = (label: string) => Buffer.from(hkdfSync("sha256", secret, "mx-connect", label, 32));
  return {
    oauthState: derive("oauth-state/v1"),
    memberId: derive("member-idempotency/v1"),
    changesCursor: derive("changes-cursor/v1"),
  };
}

const payloadSchema = z.strictObject({
  v: z.literal(1),
  u: userIdSchema,
  m: memberGuidSchema,
  n: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  e: z.number().int().positive(),
});

const mac = (key: Buffer, payload: string) => createHmac("sha256", key).update(payload).digest();

export function signOauthState(
  key: Buffer,
  subject: { userId: string; memberGuid: string },
  now: Date,
  ttlMs = OAUTH_STATE_TTL_MS,
): { token: string; state: OauthState } {
  const state: OauthState = {
    userId: subject.userId,
    memberGuid: subject.memberGuid,
    nonce: randomBytes(16).toString("base64url"),
    expiresAt: now.getTime() + Math.min(ttlMs, OAUTH_STATE_TTL_MS),
  };
  const payload = Buffer.from(
    JSON.stringify({ v: 1, u: state.userId, m: state.memberGuid, n: state.nonce, e: state.expiresAt }),
  ).toString("base64url");
  return { token: `${payload}.${mac(key, payload).toString("base64url")}`, state };
}

export type VerifiedState = { ok: true; state: OauthState } | { ok: false; reason: "forged" | "expired" };

/** Checks signature (constant time) then expiry. Pure: claiming the nonce is the caller's next step. */
export function verifyOauthState(key: Buffer, token: string, now: Date): VerifiedState {
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: "forged" };
  const given = Buffer.from(signature, "base64url");
  const expected = mac(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "forged" };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "forged" };
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) return { ok: false, reason: "forged" };
  const { u, m, n, e } = parsed.data;
  // A state dated further ahead than any we issue was not made by this code: treat it as forged.
  if (e - now.getTime() > OAUTH_STATE_TTL_MS) return { ok: false, reason: "forged" };
  if (e <= now.getTime()) return { ok: false, reason: "expired" };
  return { ok: true, state: { userId: u, memberGuid: m, nonce: n, expiresAt: e } };
}

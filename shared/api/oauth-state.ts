// The OAuth callback's `state`: a sealed, short-lived, single-use token that names the user and member.
// It travels through MX and the user's browser (URL bar, history, the bank's logs), so it is opaque:
// format base64url(IV ‖ AES-256-CTR(JSON payload)) "." base64url(HMAC-SHA256 of the first part), encrypt-
// then-MAC with two keys derived from the state key. The key comes from Secrets Manager; the nonce makes
// each state single-use (OnceStore) once the MAC and expiry hold.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
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
  /** Seals OAuth states (encrypt-then-MAC keys are derived from it). */
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

/** The state key split in two (HKDF labels), so the cipher and the MAC never share a key. */
const stateKeys = (key: Buffer) => ({
  cipher: Buffer.from(hkdfSync("sha256", key, "mx-connect", "oauth-state/cipher", 32)),
  mac: Buffer.from(hkdfSync("sha256", key, "mx-connect", "oauth-state/mac", 32)),
});

const IV_BYTES = 16;

const mac = (key: Buffer, sealed: string) => createHmac("sha256", key).update(sealed).digest();

function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  return Buffer.concat([iv, cipher.update(plaintext, "utf8"), cipher.final()]).toString("base64url");
}

/** Undefined when `sealed` is too short to hold an IV and a payload. */
function unseal(key: Buffer, sealed: string): string | undefined {
  const bytes = Buffer.from(sealed, "base64url");
  if (bytes.length <= IV_BYTES) return undefined;
  const decipher = createDecipheriv("aes-256-ctr", key, bytes.subarray(0, IV_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES)), decipher.final()]).toString("utf8");
}

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
  const keys = stateKeys(key);
  const sealed = seal(
    keys.cipher,
    JSON.stringify({ v: 1, u: state.userId, m: state.memberGuid, n: state.nonce, e: state.expiresAt }),
  );
  return { token: `${sealed}.${mac(keys.mac, sealed).toString("base64url")}`, state };
}

export type VerifiedState = { ok: true; state: OauthState } | { ok: false; reason: "forged" | "expired" };

/** Checks the MAC (constant time), then opens the payload and checks expiry. Pure: claiming the nonce is the caller's next step. */
export function verifyOauthState(key: Buffer, token: string, now: Date): VerifiedState {
  const [sealed, signature, extra] = token.split(".");
  if (!sealed || !signature || extra !== undefined) return { ok: false, reason: "forged" };
  const keys = stateKeys(key);
  // Compared as text: base64url decoding skips stray characters and the last character's spare bits, so
  // comparing decoded bytes would accept other spellings of the same signature.
  const given = Buffer.from(signature);
  const expected = Buffer.from(mac(keys.mac, sealed).toString("base64url"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "forged" };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(unseal(keys.cipher, sealed) ?? "");
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

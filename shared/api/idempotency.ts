// The idempotency id of a create-member request, stored by MX as the member's `id`: a retried identical
// request (same user, institution and credentials) maps to the same id, so MX answers 409 and the client
// returns the existing member instead of creating a second. Credential values are never stored: the id is
// an HMAC-SHA256 keyed by a server secret, so it cannot be reversed or brute-forced without that key.
import { createHmac } from "node:crypto";
import { API_INTEGRATION_TIMEOUT_SECONDS } from "./limits";

/**
 * How long a create holds the claim on its member's id at most: no create outlives API Gateway's
 * integration timeout (its Lambda stops sooner), so a create that died frees the claim soon after.
 */
export const CREATE_CLAIM_SECONDS = API_INTEGRATION_TIMEOUT_SECONDS;
/** How long a create waits for an identical one in flight before answering 409 `create_in_progress`. */
export const CREATE_WAIT_SECONDS = 10;
/** The Retry-After of that 409: an identical create takes about a second. */
export const CREATE_RETRY_AFTER_SECONDS = 2;

export interface MemberIdentity {
  userId: string;
  institutionCode: string;
  /** Credential members: the field guids and values (order does not matter). */
  credentials?: readonly { guid: string; value: string }[];
  isOauth: boolean;
}

export function memberIdempotencyId(key: Buffer, identity: MemberIdentity): string {
  const credentials = [...(identity.credentials ?? [])]
    .map((c) => [c.guid, c.value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // JSON keeps the fields unambiguous (no separator can be forged inside a value).
  const material = JSON.stringify([
    "member/v1",
    identity.userId,
    identity.institutionCode,
    identity.isOauth ? "oauth" : "credentials",
    credentials,
  ]);
  return `mc-${createHmac("sha256", key).update(material).digest("base64url")}`;
}

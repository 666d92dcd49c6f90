// MX's webhooks (POST /v1/mx/webhooks, public): checks MX's HTTP basic auth against our secret in constant
// time, then hands the member to the refresh queue and answers at once; the queue's consumer does the work
// (shared/refresh/refresh-member.ts), idempotently, so a redelivered, late or out-of-order webhook is
// harmless. MX adds fields and sends nulls: the payload schema is loose and every field nullish.
import { createHash, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import type { RefreshMessage, RefreshQueue } from "../refresh/messages";
import { BadRequestError, UnauthorizedError } from "./errors";

/** The webhook basic-auth secret's JSON: what MX is configured to send (dashboard → Webhooks). */
export const webhookCredentialsSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(16),
});
export type WebhookCredentials = z.infer<typeof webhookCredentialsSchema>;

/** docs.mx.com "Webhooks": member data updated (AGGREGATION, HISTORY, …) and CONNECTION_STATUS/CHANGED. */
export const mxWebhookSchema = z.looseObject({
  type: z.string().nullish(),
  action: z.string().nullish(),
  member_guid: z.string().nullish(),
  user_guid: z.string().nullish(),
  user_id: z.string().nullish(),
  connection_status: z.string().nullish(),
});

/** member_data_updated webhooks: new data is at MX (the consumer checks how new). */
const DATA_TYPES = new Set(["AGGREGATION", "HISTORY", "BALANCE", "STATEMENT", "VERIFICATION", "IDENTITY"]);
const MEMBER_GUID = /^MBR-[A-Za-z0-9-]{1,64}$/;

export interface WebhookDeps {
  credentials: () => Promise<WebhookCredentials>;
  queue: RefreshQueue;
}

export type WebhookOutcome =
  | { kind: "enqueued"; type: string; memberGuid: string }
  | { kind: "ignored"; type: string | null };

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function basicAuthMatches(header: string | undefined, expected: WebhookCredentials): boolean {
  const given = /^Basic\s+(\S+)$/i.exec(header ?? "")?.[1] ?? "";
  const decoded = Buffer.from(given, "base64").toString("utf8");
  return timingSafeEqual(digest(decoded), digest(`${expected.username}:${expected.password}`));
}

export async function receiveWebhook(
  deps: WebhookDeps,
  request: { authorization: string | undefined; body: string | undefined },
): Promise<WebhookOutcome> {
  if (!basicAuthMatches(request.authorization, await deps.credentials())) {
    throw new UnauthorizedError("The webhook credentials are missing or wrong.");
  }
  // Parsed only once the caller is known to be MX: a stranger learns nothing about what we accept.
  let json: unknown;
  try {
    json = JSON.parse(request.body ?? "");
  } catch {
    throw new BadRequestError("The body is not valid JSON.");
  }
  const parsed = mxWebhookSchema.safeParse(json);
  if (!parsed.success) throw new BadRequestError("The body is not an MX webhook.");
  const webhook = parsed.data;
  const type = webhook.type ?? null;
  const wanted =
    (type !== null && DATA_TYPES.has(type)) || (type === "CONNECTION_STATUS" && webhook.action === "CHANGED");
  const memberGuid = webhook.member_guid ?? "";
  if (!wanted || !MEMBER_GUID.test(memberGuid)) return { kind: "ignored", type };
  // MX's `user_id` is the id we gave the MX user: our user id. Null → the consumer looks the member up.
  const userId = webhook.user_id && webhook.user_id.length <= 128 ? webhook.user_id : undefined;
  const message: RefreshMessage = {
    kind: "member",
    memberGuid,
    trigger: "webhook",
    ...(userId ? { userId } : {}),
  };
  await deps.queue.send([{ message }]);
  return { kind: "enqueued", type: type ?? "", memberGuid };
}

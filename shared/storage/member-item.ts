// The member item's shape: parsed on every read (storage-only attributes dropped), and the sync-map
// assignments the member store's updates share.
import * as z from "zod";
import { SYNC_STATUSES } from "../domain/connection";
import { challengeSchema } from "../mx/schemas";
import { stripUndefinedDeep } from "./context";
import type { Item } from "./keys";
import type { MemberRecord, MxProduct, SyncState } from "./ports";

/** The member item's attribute for each MX product's availability (MemberRecord.products). */
export const PRODUCT_ATTRIBUTES = {
  identity: "productIdentity",
  extendedHistory: "productExtendedHistory",
} as const satisfies Record<MxProduct, string>;

/**
 * Set once when the member's deletion starts (ISO): from then on no sync takes its lease or writes its rows,
 * and the purge deletes it. Its presence is the member's DELETING state.
 */
export const DELETING_AT = "deletingAt";

const availabilitySchema = z.enum(["AVAILABLE", "NOT_ENABLED", "NOT_SUPPORTED"]);

const syncStateSchema = z.object({
  status: z.enum(SYNC_STATUSES),
  syncRun: z.string().optional(),
  leaseExpiresAt: z.number().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  outcome: z.string().optional(),
  reason: z.string().optional(),
  counts: z.object({ owners: z.number(), accounts: z.number(), transactions: z.number() }).optional(),
  lastSyncedAt: z.string().optional(),
  dataAsOf: z.string().optional(),
  aggregation: z.enum(["AGGREGATED", "DECLINED"]).optional(),
  consecutiveFailures: z.number().optional(),
  error: z.object({ name: z.string(), message: z.string().optional() }).optional(),
});

const memberItemSchema = z.object({
  userId: z.string(),
  mxUserGuid: z.string(),
  memberGuid: z.string(),
  institutionCode: z.string(),
  isOauth: z.boolean(),
  identify: z.boolean(),
  connectionStatus: z.string().optional(),
  redirectUrl: z.string().optional(),
  challenges: z.array(challengeSchema).optional(),
  challengeTaskToken: z.string().optional(),
  challengeExpiresAt: z.number().optional(),
  // One top-level attribute per product, so each is one SET without first creating a map.
  productIdentity: availabilitySchema.optional(),
  productExtendedHistory: availabilitySchema.optional(),
  historyFrom: z.string().optional(),
  [DELETING_AT]: z.string().optional(),
  sync: syncStateSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function toMemberRecord(item: Item, nowMs: number): MemberRecord {
  const {
    challengeExpiresAt,
    productIdentity: identity,
    productExtendedHistory: extendedHistory,
    ...record
  } = memberItemSchema.parse(item);
  const products: MemberRecord["products"] = stripUndefinedDeep({ identity, extendedHistory });
  const member: MemberRecord = identity || extendedHistory ? { ...record, products } : record;
  // A token past its expiry is dead (its task timed out): never hand it out.
  if (member.challengeTaskToken !== undefined && (challengeExpiresAt ?? 0) <= nowMs) {
    delete member.challengeTaskToken;
  }
  return member;
}

/** Builds `SET #sync.#k = :k, …` parts for the defined fields of a sync patch (never the lease fields). */
export function syncAssignments(
  patch: Partial<SyncState>,
  names: Record<string, string>,
  values: Record<string, unknown>,
): string[] {
  const assignments: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined || field === "syncRun" || field === "leaseExpiresAt") continue;
    names[`#f_${field}`] = field;
    values[`:f_${field}`] = stripUndefinedDeep(value);
    assignments.push(`#sync.#f_${field} = :f_${field}`);
  }
  return assignments;
}

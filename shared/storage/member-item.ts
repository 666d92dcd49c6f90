// The member item's shape: parsed on every read (storage-only attributes dropped), and the sync-map
// assignments the member store's updates share.
import * as z from "zod";
import { SYNC_STATUSES } from "../domain/connection";
import { challengeSchema } from "../mx/schemas";
import { stripUndefinedDeep } from "./context";
import type { Item } from "./keys";
import type { MemberRecord, SyncState } from "./ports";

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
  sync: syncStateSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function toMemberRecord(item: Item, nowMs: number): MemberRecord {
  const { challengeExpiresAt, ...record } = memberItemSchema.parse(item);
  // A token past its expiry is dead (its task timed out): never hand it out.
  if (record.challengeTaskToken !== undefined && (challengeExpiresAt ?? 0) <= nowMs) {
    delete record.challengeTaskToken;
  }
  return record;
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

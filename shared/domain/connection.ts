// Domain rules for an MX member's connection status: what the sync workflow does next, and what the app sees.

/** What the workflow does after reading a member's status. */
export type ConnectionPhase =
  | "AGGREGATING" // keep polling
  | "CONNECTED" // done aggregating: move on
  | "CHALLENGED" // MFA: the end user must answer
  | "NEEDS_USER" // the end user must act (bad credentials, locked, …): stop
  | "FAILED"; // a hard end: stop

const STILL_WORKING = new Set(["CREATED", "UPDATED", "RESUMED", "RECONNECTED", "DELAYED", "PENDING"]);
const NEEDS_USER = new Set(["DENIED", "REJECTED", "EXPIRED", "IMPAIRED", "IMPEDED", "LOCKED", "PREVENTED"]);

export function connectionPhase(status: {
  connection_status?: string | null;
  is_being_aggregated?: boolean | null;
}): ConnectionPhase {
  const connectionStatus = status.connection_status ?? "";
  if (connectionStatus === "CONNECTED") return status.is_being_aggregated ? "AGGREGATING" : "CONNECTED";
  if (connectionStatus === "CHALLENGED") return "CHALLENGED";
  if (STILL_WORKING.has(connectionStatus)) return "AGGREGATING";
  if (NEEDS_USER.has(connectionStatus)) return "NEEDS_USER";
  // FAILED, DISCONNECTED, DISCONTINUED, CLOSED, DISABLED, DEGRADED, IMPORTED and anything unknown.
  return "FAILED";
}

/**
 * Whether MX's data moved past `baseline` (its `successfully_aggregated_at` read before the job was asked
 * for; null = none yet). Both are MX's own timestamps, so our clock's skew plays no part. MX's OAuth guide:
 * a job is done when CONNECTED, not aggregating, and successfully aggregated later than when it was asked.
 */
export function aggregatedSince(
  successfullyAggregatedAt: string | null | undefined,
  baseline: string | null | undefined,
): boolean {
  if (!successfullyAggregatedAt) return false;
  if (!baseline) return true;
  const now = Date.parse(successfullyAggregatedAt);
  const before = Date.parse(baseline);
  // MX's ISO strings compare as times; an unparsable one counts as moved only when it changed.
  return Number.isNaN(now) || Number.isNaN(before) ? successfullyAggregatedAt !== baseline : now > before;
}

/**
 * How long (s) a job MX accepted may show no sign of running before a run concludes MX declined it: MX may
 * start a job a moment after the request, and answers 202 to an aggregation it will not run (3-hour rule).
 */
export const DEFAULT_JOB_START_GRACE_SECONDS = 30;

/** What the member says when MX ran no aggregation for a run (e.g. within 3 h of the last one). */
export function aggregationDeclinedNote(dataAsOf: string | null | undefined): string {
  return dataAsOf
    ? `MX did not aggregate again (it aggregated recently); the data is as fresh as ${dataAsOf}.`
    : "MX did not aggregate this connection; no data was available yet.";
}

/** The sync status the API shows for a member. */
export const SYNC_STATUSES = [
  "PENDING", // created, nothing started yet (e.g. OAuth member before the user came back)
  "CONNECTING", // polling MX while it connects and aggregates
  "CHALLENGED", // waiting for the end user's MFA answer
  "SYNCING", // storing owners, accounts and transactions
  "SYNCED",
  "NEEDS_USER",
  "FAILED",
  "TIMED_OUT",
] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

/** Human-readable reasons shown to the app when a member is not synced. */
export const CONNECTION_REASONS: Record<string, string> = {
  DENIED: "The bank rejected the credentials. Ask the user to check them and try again.",
  REJECTED: "The answer to the security question was not accepted.",
  EXPIRED: "The security question was not answered in time.",
  LOCKED: "The bank has locked this account. The user must unlock it at the bank.",
  IMPAIRED: "The bank needs the user to take an action on its website before connecting.",
  IMPEDED: "The bank needs the user to take an action on its website before connecting.",
  PREVENTED: "Too many failed attempts: the user must update their credentials.",
  FAILED: "The connection failed at the bank. Try again later.",
  DISCONNECTED: "The bank connection was lost. Try again later.",
  DISCONTINUED: "This institution is no longer supported.",
  CLOSED: "The account was closed at the bank.",
  DISABLED: "Aggregation is disabled for this member.",
  TIMED_OUT: "The bank took too long to answer.",
};

/**
 * Why MX's OAuth redirect came back without connecting (its `error_reason`), in words for the app. Its
 * DENIED is the user declining at the bank's consent page, not CONNECTION_REASONS' DENIED (bad credentials).
 */
const OAUTH_ERROR_REASONS: Record<string, string> = {
  CANCELLED: "The user cancelled at the bank before connecting.",
  DENIED: "The user declined to share their accounts at the bank's consent page.",
  SESSION_EXPIRED:
    "The bank's sign-in page expired before the user finished. Start connecting again from the app.",
  IMPEDED: "The bank needs the user to take an action on its website before connecting.",
  PROVIDER_ERROR: "The bank had a problem. Try again later.",
  SERVER_ERROR: "The connection service had a problem. Try again later.",
};

/** The member's reason after MX's OAuth redirect said `status=error` with `errorReason` (any, or none). */
export function oauthErrorReason(errorReason: string | undefined): string {
  return (
    (errorReason !== undefined && Object.hasOwn(OAUTH_ERROR_REASONS, errorReason)
      ? OAUTH_ERROR_REASONS[errorReason]
      : undefined) ?? "The bank did not connect. Start connecting again from the app."
  );
}

/** The longest wait between two status polls, unless configured (`POLL_MAX_WAIT_SECONDS`). */
export const DEFAULT_POLL_MAX_WAIT_SECONDS = 90;

/**
 * The next poll's wait, in whole seconds: never under MX's 3 s floor, otherwise at most a quarter of the
 * time already waited (jittered down by up to 10 %), capped. The end of an aggregation is therefore seen
 * at most max(3 s, ¼ of its length) late, and a 10-minute one costs ≤ 25 polls (`npm run bench -- --only
 * polling`). `random` is injectable so tests are deterministic.
 */
export function nextPollDelaySeconds(
  elapsedSeconds: number,
  maxSeconds = DEFAULT_POLL_MAX_WAIT_SECONDS,
  random: () => number = Math.random,
): number {
  // Rounded down: a wait rounded up could overshoot the quarter.
  const quarter = Math.floor((elapsedSeconds / 4) * (0.9 + 0.1 * random()));
  return Math.max(3, Math.min(maxSeconds, quarter));
}

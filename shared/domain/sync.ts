// Rules of a sync run that the workflow, the API and the local tools share: which statuses end a run, how
// long a run waits for an MFA answer, and the human reason shown when a run ended unsynced.
import { CONNECTION_REASONS } from "./connection";

/** Statuses a run ends in; the app stops waiting when it sees one. */
export const ENDED_SYNC_STATUSES = ["SYNCED", "NEEDS_USER", "FAILED", "TIMED_OUT"] as const;
export type SyncOutcome = (typeof ENDED_SYNC_STATUSES)[number];

/** The ends that need explaining: a reason says what went wrong. */
const UNSYNCED: ReadonlySet<string> = new Set(ENDED_SYNC_STATUSES.filter((status) => status !== "SYNCED"));

export const isUnsyncedEnd = (status: string): boolean => UNSYNCED.has(status);

/**
 * How long a run waits for the end user's MFA answer, in seconds: the AwaitChallenge state's timeout, and
 * the life of the stored task token (infra sets both from one value; this is its default).
 *
 * Longer than MX's own expiry of an unanswered challenge (about 5 minutes, then EXPIRED) on purpose: the
 * user keeps every second MX gives them, and the run's poll after the wait then reads MX's verdict
 * (EXPIRED → NEEDS_USER with its reason) instead of guessing TIMED_OUT while MX would still take the answer.
 * An answer sent after MX expired the challenge is refused by MX (405) and resumes the run at once.
 */
export const DEFAULT_CHALLENGE_TIMEOUT_SECONDS = 600;

/**
 * MFA rounds a run follows before it gives up with NEEDS_USER. MX may ask several in a row, each with new
 * guids (pick where to send a code, then type the code; or a chain of security questions); a round MX
 * withdraws before it is shown also counts, so the loop stays bounded.
 */
export const DEFAULT_MAX_CHALLENGE_ROUNDS = 5;

/** Connection statuses the Poll task reports for ends MX answers as HTTP errors, not as a status. */
export const MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND";
export const MX_UNAUTHORIZED = "MX_UNAUTHORIZED";

/** Reasons for ends that are not MX connection statuses. */
const OTHER_REASONS: Record<string, string> = {
  [MEMBER_NOT_FOUND]: "This connection no longer exists at MX. Connect the bank again.",
  [MX_UNAUTHORIZED]: "The service could not authenticate with MX. Try again later.",
  CHALLENGE_TIMED_OUT: CONNECTION_REASONS.EXPIRED ?? "The security question was not answered in time.",
  // NEEDS_USER after the workflow's last MFA round: the bank kept asking.
  CHALLENGED: "The bank kept asking security questions. Ask the user to connect again.",
  NEEDS_USER: "The bank needs the user to act before connecting again.",
  MX_TRANSIENT: "MX was unavailable. Try again later.",
  TASK_TIMED_OUT: "The sync took too long. Try again later.",
  UNEXPECTED: "The sync failed unexpectedly. Try again later.",
};

export interface RunEnd {
  outcome: SyncOutcome | "ALREADY_RUNNING";
  /** MX's last connection status seen by the run (or MEMBER_NOT_FOUND / MX_UNAUTHORIZED). */
  connectionStatus?: string | undefined;
  /** The Step Functions error name of a failed task (`Error` of a Catch). */
  errorName?: string | undefined;
  /** Whether the run failed on a task error (rather than on a status). */
  failedOnError?: boolean;
}

/** Error names that mean "MX was unavailable", whatever the task: see shared/sync/contract.ts. */
export type TransientNames = ReadonlySet<string>;

/**
 * The human reason of a run's end, computed once when the run finishes (Finish stores it on the member);
 * undefined for a synced run. `transient` names the errors that mean MX was briefly unavailable.
 */
export function syncEndReason(end: RunEnd, transient: TransientNames): string | undefined {
  const status = end.connectionStatus;
  switch (end.outcome) {
    case "SYNCED":
    case "ALREADY_RUNNING":
      return undefined;
    case "TIMED_OUT":
      return status === "CHALLENGED"
        ? OTHER_REASONS.CHALLENGE_TIMED_OUT
        : (CONNECTION_REASONS.TIMED_OUT ?? OTHER_REASONS.TASK_TIMED_OUT);
    case "NEEDS_USER":
    case "FAILED": {
      const known = status ? (CONNECTION_REASONS[status] ?? OTHER_REASONS[status]) : undefined;
      if (known) return known;
      const errorName = end.errorName;
      if (errorName && transient.has(errorName)) return OTHER_REASONS.MX_TRANSIENT;
      if (errorName === "States.Timeout") return OTHER_REASONS.TASK_TIMED_OUT;
      if (end.outcome === "NEEDS_USER") return OTHER_REASONS.NEEDS_USER;
      // An MX end state without a reason of its own (DEGRADED, IMPORTED, …) reads like a failed connection.
      if (status && !end.failedOnError) return CONNECTION_REASONS.FAILED ?? OTHER_REASONS.UNEXPECTED;
      return OTHER_REASONS.UNEXPECTED;
    }
  }
}

// The member state machine. Jobs (aggregate, identify, the aggregation after an OAuth sign-in) advance
// lazily: every read first replays what has happened by now, so timing is exact and there are no timers.
import type { MemberDataShape } from "./generator";
import type { Institution } from "./institutions";
import type { SandboxKnobs } from "./knobs";
import { guidFrom } from "./prng";

export type JobKind = "aggregate" | "identify" | "oauth";
type JobPhase = "authenticating" | "challenged" | "aggregating" | "rejecting";

interface Job {
  kind: JobKind;
  phase: JobPhase;
  /** When the current phase ends (ms); unused while challenged (the job waits for `resume`). */
  phaseEndsAt: number;
  /** Each phase lasts half of the knob `aggregationMs` as it was when the job started. */
  halfMs: number;
  /** The connection_status shown while authenticating (CREATED for a new member, CONNECTED, …). */
  statusWhileAuthenticating: string;
  /** Data size snapshot, so changing the knobs mid-job does not change what this job produces. */
  shape: Pick<SandboxKnobs, "accountsPerMember" | "transactionsPerAccount" | "pendingPerAccount">;
}

export interface ChallengeRecord {
  guid: string;
  kind: "TEXT" | "OPTIONS" | "IMAGE_DATA";
}

export interface MemberRecord {
  guid: string;
  id: string | null;
  userGuid: string;
  institution: Institution;
  isOauth: boolean;
  metadata: string | null;
  /** Private: only used to decide the outcome and detect duplicates. Never serialized. */
  secrets: { username: string; password: string } | null;
  connectionStatus: string;
  isAuthenticated: boolean;
  aggregatedAt: number | null;
  successfullyAggregatedAt: number | null;
  job: Job | null;
  jobCount: number;
  challenges: ChallengeRecord[] | null;
  identified: boolean;
  /** Data as of the last successful aggregation; null before the first one. */
  data: MemberDataShape | null;
  anchorDay: number;
  oauth: { clientRedirectUrl: string | null; referralSource: string; skipAggregation: boolean };
  seed: number;
  userId: string | null;
}

type Outcome =
  | { kind: "ok" }
  | { kind: "mfa"; challenge: ChallengeRecord["kind"] }
  | { kind: "end"; status: string };

const PASSWORD_OUTCOMES: Record<string, Outcome> = {
  challenge: { kind: "mfa", challenge: "TEXT" },
  options: { kind: "mfa", challenge: "OPTIONS" },
  image: { kind: "mfa", challenge: "IMAGE_DATA" },
  BAD_REQUEST: { kind: "end", status: "FAILED" },
  UNAUTHORIZED: { kind: "end", status: "DENIED" },
  INVALID: { kind: "end", status: "DENIED" },
  DISABLED: { kind: "end", status: "DENIED" },
  LOCKED: { kind: "end", status: "LOCKED" },
  SERVER_ERROR: { kind: "end", status: "FAILED" },
  UNAVAILABLE: { kind: "end", status: "FAILED" },
};

/** MX's test username for credential institutions. */
export const TEST_USERNAME = "mxuser";

function outcomeOf(member: MemberRecord): Outcome {
  if (member.isOauth || member.secrets === null) return { kind: "ok" };
  if (member.secrets.username !== TEST_USERNAME) return { kind: "end", status: "DENIED" };
  return PASSWORD_OUTCOMES[member.secrets.password] ?? { kind: "ok" };
}

export function isJobRunning(member: MemberRecord): boolean {
  return member.job !== null;
}

/** Starts an aggregate / identify job (the caller has checked that none runs). */
export function startJob(member: MemberRecord, kind: JobKind, now: number, knobs: SandboxKnobs): void {
  const halfMs = knobs.aggregationMs / 2;
  const shape = {
    accountsPerMember: knobs.accountsPerMember,
    transactionsPerAccount: knobs.transactionsPerAccount,
    pendingPerAccount: knobs.pendingPerAccount,
  };
  member.jobCount += 1;
  member.challenges = null;
  const statusWhileAuthenticating =
    member.connectionStatus === "CONNECTED"
      ? "CONNECTED"
      : member.isAuthenticated
        ? "RECONNECTED"
        : "CREATED";
  if (kind === "oauth") {
    // The user signed in at the bank: nothing left to authenticate, aggregation starts at once.
    member.isAuthenticated = true;
    member.connectionStatus = "CONNECTED";
    member.job = {
      kind,
      phase: "aggregating",
      phaseEndsAt: now + knobs.aggregationMs,
      halfMs,
      statusWhileAuthenticating,
      shape,
    };
    return;
  }
  member.connectionStatus = statusWhileAuthenticating;
  member.job = {
    kind,
    phase: "authenticating",
    phaseEndsAt: now + halfMs,
    halfMs,
    statusWhileAuthenticating,
    shape,
  };
}

function finishSuccessfully(member: MemberRecord, job: Job, at: number): void {
  member.connectionStatus = "CONNECTED";
  member.aggregatedAt = at;
  member.successfullyAggregatedAt = at;
  member.job = null;
  member.challenges = null;
  if (job.kind === "identify") member.identified = true;
  // An identify also brings accounts in when there were none yet; it never re-posts transactions.
  if (job.kind !== "identify" || member.data === null) {
    const generation = (member.data?.generation ?? 0) + 1;
    member.data = {
      seed: member.seed,
      memberGuid: member.guid,
      memberId: member.id,
      userGuid: member.userGuid,
      userId: member.userId,
      institutionCode: member.institution.code,
      institutionGuid: member.institution.guid,
      anchorDay: member.anchorDay,
      accounts: job.shape.accountsPerMember,
      transactionsPerAccount: job.shape.transactionsPerAccount,
      pendingPerAccount: job.shape.pendingPerAccount,
      generation,
    };
  }
}

/** Replays the member's job up to `now`. */
export function advance(member: MemberRecord, now: number): void {
  for (
    let job = member.job;
    job !== null && job.phase !== "challenged" && job.phaseEndsAt <= now;
    job = member.job
  ) {
    const at = job.phaseEndsAt;
    if (job.phase === "authenticating") {
      const outcome = outcomeOf(member);
      if (outcome.kind === "ok") {
        member.isAuthenticated = true;
        member.connectionStatus = "CONNECTED";
        job.phase = "aggregating";
        job.phaseEndsAt = at + job.halfMs;
      } else if (outcome.kind === "mfa") {
        member.connectionStatus = "CHALLENGED";
        member.challenges = [
          {
            guid: guidFrom("CRD", member.seed, member.guid, "challenge", member.jobCount),
            kind: outcome.challenge,
          },
        ];
        job.phase = "challenged";
      } else {
        member.connectionStatus = outcome.status;
        member.isAuthenticated = false;
        member.aggregatedAt = at;
        member.job = null;
      }
    } else if (job.phase === "aggregating") {
      finishSuccessfully(member, job, at);
    } else {
      member.connectionStatus = "REJECTED";
      member.aggregatedAt = at;
      member.job = null;
    }
  }
}

export function isChallenged(member: MemberRecord): boolean {
  return member.job?.phase === "challenged" && member.challenges !== null;
}

/** The correct answer to every sandbox challenge is `correct` (as at MX's mxbank). */
export const CORRECT_ANSWER = "correct";

/** Answers the challenges (all validated by the caller); the job continues either way, then ends. */
export function resume(member: MemberRecord, allCorrect: boolean, now: number): void {
  const job = member.job;
  if (job === null || job.phase !== "challenged") return;
  member.connectionStatus = "RESUMED";
  member.challenges = null;
  if (allCorrect) member.isAuthenticated = true;
  job.phase = allCorrect ? "aggregating" : "rejecting";
  job.phaseEndsAt = now + job.halfMs;
}

/** OAuth: the user said no at the bank. */
export function denyOauth(member: MemberRecord, now: number): void {
  member.job = null;
  member.challenges = null;
  member.isAuthenticated = false;
  member.connectionStatus = "DENIED";
  member.aggregatedAt = now;
}

/** OAuth with skip_aggregation: connected, nothing aggregated. */
export function connectOauthWithoutAggregation(member: MemberRecord): void {
  member.job = null;
  member.isAuthenticated = true;
  member.connectionStatus = "CONNECTED";
}

export function isBeingAggregated(member: MemberRecord): boolean {
  return member.job !== null && member.job.phase !== "challenged";
}

const iso = (ms: number | null) =>
  ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function memberView(member: MemberRecord, oauthWindowUri: string | null = null) {
  return {
    aggregated_at: iso(member.aggregatedAt),
    background_aggregation_is_disabled: false,
    connection_status: member.connectionStatus,
    connection_status_message: CONNECTION_MESSAGES[member.connectionStatus] ?? null,
    guid: member.guid,
    id: member.id,
    institution_code: member.institution.code,
    institution_guid: member.institution.guid,
    is_being_aggregated: isBeingAggregated(member),
    is_managed_by_user: false,
    is_manual: false,
    is_oauth: member.isOauth,
    metadata: member.metadata,
    most_recent_job_detail_code: null,
    most_recent_job_detail_text: null,
    most_recent_job_guid: null,
    name: member.institution.name,
    needs_updated_credentials: member.connectionStatus === "DENIED",
    oauth_window_uri: oauthWindowUri,
    successfully_aggregated_at: iso(member.successfullyAggregatedAt),
    use_cases: ["PFM"],
    user_guid: member.userGuid,
    user_id: member.userId,
  };
}

const CONNECTION_MESSAGES: Record<string, string> = {
  CREATED: "Connecting to the institution…",
  PENDING: "Waiting for the user to sign in at the institution.",
  CONNECTED: "Connected.",
  CHALLENGED: "The institution asks a security question.",
  RESUMED: "Checking the answer…",
  RECONNECTED: "Reconnecting…",
  DENIED: "The credentials were not accepted.",
  REJECTED: "The answer to the security question was not accepted.",
  LOCKED: "The account is locked at the institution.",
  FAILED: "The connection failed.",
};

// A 1×1 transparent PNG: the picture the image challenge asks about.
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

export function challengeView(challenge: ChallengeRecord) {
  switch (challenge.kind) {
    case "TEXT":
      return { field_name: null, guid: challenge.guid, label: "What city were you born in?", type: "TEXT" };
    case "OPTIONS":
      return {
        field_name: null,
        guid: challenge.guid,
        label: "Which of these is the correct answer?",
        type: "OPTIONS",
        options: [
          { guid: null, label: "correct", value: "correct" },
          { guid: null, label: "incorrect", value: "incorrect" },
        ],
      };
    case "IMAGE_DATA":
      return {
        field_name: null,
        guid: challenge.guid,
        image_data: PIXEL,
        label: "What is this a picture of? (answer: correct)",
        type: "IMAGE_DATA",
      };
  }
}

export function statusView(member: MemberRecord) {
  const hasData = member.data !== null;
  return {
    aggregated_at: iso(member.aggregatedAt),
    ...(member.challenges && isChallenged(member)
      ? { challenges: member.challenges.map(challengeView) }
      : {}),
    connection_status: member.connectionStatus,
    guid: member.guid,
    has_processed_account_numbers: hasData,
    has_processed_accounts: hasData,
    has_processed_transactions: hasData,
    is_authenticated: member.isAuthenticated,
    is_being_aggregated: isBeingAggregated(member),
    successfully_aggregated_at: iso(member.successfullyAggregatedAt),
  };
}

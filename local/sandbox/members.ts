// The member state machine. Jobs (aggregate, identify, extend_history, the aggregation after an OAuth
// sign-in, MX's own background aggregation) advance lazily: every read first replays what has happened by
// the sandbox's "now", so timing is exact and deterministic, and moving the sandbox clock replays days.
import { type AggregationMark, accountsOf, createdByLatest, type MemberDataShape } from "./generator";
import type { Institution } from "./institutions";
import type { SandboxKnobs } from "./knobs";
import { guidFrom } from "./prng";

const DAY_MS = 86_400_000;
/** Extended transaction history: up to 24 months (docs.mx.com "Extended Transaction History"). */
export const EXTENDED_HISTORY_DAYS = 730;

export type JobKind = "aggregate" | "identify" | "history" | "oauth" | "background";
type JobPhase = "queued" | "authenticating" | "challenged" | "resuming" | "aggregating";

/** MX answers 202 to a job of the kind already running and 409 to another kind; background = aggregate. */
export const jobFamily = (kind: JobKind) => (kind === "background" || kind === "oauth" ? "aggregate" : kind);

interface Job {
  kind: JobKind;
  phase: JobPhase;
  /** When the current phase ends (ms): for `challenged`, when the challenge expires. */
  phaseEndsAt: number;
  /** Each phase lasts half of the knob `aggregationMs` as it was when the job started. */
  halfMs: number;
  /** connection_status to show once the job starts authenticating (UPDATED after new credentials, …). */
  startStatus: string | null;
  /** Data size snapshot, so changing the knobs mid-job does not change what this job produces. */
  shape: Pick<
    SandboxKnobs,
    "accountsPerMember" | "transactionsPerAccount" | "pendingPerAccount" | "historyDays"
  >;
  /** MFA rounds of this job (empty when it is not challenged) and the one being asked. */
  rounds: readonly ChallengeVariant[];
  round: number;
  /** Whether the last answers were right (decides the end of the `resuming` phase). */
  answersOk: boolean;
  challengeExpiryMs: number;
  /** Knob oauthAggregationFails as it was when the job started. */
  failsAfterOauth: boolean;
}

export type ChallengeType = "TEXT" | "OPTIONS" | "TOKEN" | "IMAGE_DATA" | "IMAGE_OPTIONS";
/** A challenge's prompt: the type plus which question (choose a phone, then type the code sent to it). */
export type ChallengeVariant = ChallengeType | "PHONE_OPTIONS" | "CODE";

export interface ChallengeRecord {
  guid: string;
  variant: ChallengeVariant;
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
  createdAt: number;
  aggregatedAt: number | null;
  successfullyAggregatedAt: number | null;
  job: Job | null;
  jobCount: number;
  challenges: ChallengeRecord[] | null;
  identified: boolean;
  extendedHistory: boolean;
  /** The member's `background_aggregation_is_disabled`: MX then leaves it alone. */
  backgroundDisabled: boolean;
  /** Data as of the last successful aggregation; null before the first one. */
  data: MemberDataShape | null;
  anchorDay: number;
  oauth: { clientRedirectUrl: string | null; referralSource: string; skipAggregation: boolean };
  seed: number;
  userId: string | null;
}

/** What a member's jobs tell the outside world (the sandbox turns these into MX webhooks). */
export type MemberEvent =
  | {
      kind: "aggregation";
      member: MemberRecord;
      at: number;
      type: "AGGREGATION" | "HISTORY";
      isBackground: boolean;
      created: number;
      updated: number;
    }
  | { kind: "status"; member: MemberRecord; at: number; status: string };

export interface MemberContext {
  knobs: SandboxKnobs;
  emit(event: MemberEvent): void;
}

type Outcome =
  | { kind: "ok" }
  | { kind: "mfa"; rounds: readonly ChallengeVariant[] }
  | { kind: "end"; status: string };

const PASSWORD_OUTCOMES: Record<string, Outcome> = {
  challenge: { kind: "mfa", rounds: ["TEXT"] },
  options: { kind: "mfa", rounds: ["OPTIONS"] },
  image: { kind: "mfa", rounds: ["IMAGE_DATA"] },
  token: { kind: "mfa", rounds: ["TOKEN"] },
  image_options: { kind: "mfa", rounds: ["IMAGE_OPTIONS"] },
  // Two rounds with new challenge guids: choose where to send a code, then type it.
  multi: { kind: "mfa", rounds: ["PHONE_OPTIONS", "CODE"] },
  options_then_text: { kind: "mfa", rounds: ["PHONE_OPTIONS", "CODE"] },
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

/** MX's connection_status ids (docs.mx.com "Member Connection Statuses"), sent in webhooks. */
export const CONNECTION_STATUS_IDS: Record<string, number> = {
  CREATED: 0,
  PREVENTED: 1,
  DENIED: 2,
  CHALLENGED: 3,
  REJECTED: 4,
  LOCKED: 5,
  CONNECTED: 6,
  IMPEDED: 7,
  RECONNECTED: 8,
  DEGRADED: 9,
  DISCONNECTED: 10,
  DISCONTINUED: 11,
  CLOSED: 12,
  DELAYED: 13,
  FAILED: 14,
  UPDATED: 15,
  DISABLED: 16,
  IMPORTED: 17,
  RESUMED: 18,
  EXPIRED: 19,
  IMPAIRED: 20,
  PENDING: 21,
};

/** Statuses that trigger MX's connection status webhook (end-user-actionable states). */
const ACTIONABLE = new Set([
  "CHALLENGED",
  "DENIED",
  "EXPIRED",
  "IMPAIRED",
  "IMPEDED",
  "LOCKED",
  "PREVENTED",
  "REJECTED",
]);

function setStatus(member: MemberRecord, status: string, at: number, ctx: MemberContext): void {
  member.connectionStatus = status;
  if (ACTIONABLE.has(status)) ctx.emit({ kind: "status", member, at, status });
}

export function isJobRunning(member: MemberRecord): boolean {
  return member.job !== null;
}

export function runningJobKind(member: MemberRecord): JobKind | null {
  return member.job?.kind ?? null;
}

/**
 * Starts a job (the caller has checked that none runs). It begins after `jobStartDelayMs` (not for
 * background jobs, which MX schedules itself); until then the member shows its old state.
 */
export function startJob(
  member: MemberRecord,
  kind: JobKind,
  now: number,
  ctx: MemberContext,
  startStatus: string | null = null,
): void {
  const { knobs } = ctx;
  member.jobCount += 1;
  member.job = {
    kind,
    phase: "queued",
    phaseEndsAt: now + (kind === "background" ? 0 : knobs.jobStartDelayMs),
    halfMs: knobs.aggregationMs / 2,
    startStatus,
    shape: {
      accountsPerMember: knobs.accountsPerMember,
      transactionsPerAccount: knobs.transactionsPerAccount,
      pendingPerAccount: knobs.pendingPerAccount,
      historyDays: knobs.historyDays,
    },
    rounds: [],
    round: 0,
    answersOk: true,
    challengeExpiryMs: knobs.challengeExpiryMs,
    failsAfterOauth: kind === "oauth" && knobs.oauthAggregationFails,
  };
  if (member.job.phaseEndsAt <= now) begin(member, member.job, now, ctx);
}

function begin(member: MemberRecord, job: Job, at: number, ctx: MemberContext): void {
  member.challenges = null;
  if (job.kind === "oauth") {
    // The user signed in at the bank: nothing left to authenticate, aggregation starts at once.
    member.isAuthenticated = true;
    member.connectionStatus = "CONNECTED";
    job.phase = "aggregating";
    job.phaseEndsAt = at + 2 * job.halfMs;
    return;
  }
  const status =
    job.startStatus ??
    (member.connectionStatus === "CONNECTED"
      ? "CONNECTED"
      : member.isAuthenticated
        ? "RECONNECTED"
        : "CREATED");
  setStatus(member, status, at, ctx);
  job.phase = "authenticating";
  job.phaseEndsAt = at + job.halfMs;
}

function challenge(member: MemberRecord, job: Job, at: number, ctx: MemberContext): void {
  const variant = job.rounds[job.round] ?? "TEXT";
  member.challenges = [
    { guid: guidFrom("CRD", member.seed, member.guid, "challenge", member.jobCount, job.round), variant },
  ];
  job.phase = "challenged";
  job.phaseEndsAt = at + job.challengeExpiryMs;
  setStatus(member, "CHALLENGED", at, ctx);
}

function endJob(member: MemberRecord, status: string, at: number, ctx: MemberContext): void {
  member.aggregatedAt = at;
  member.job = null;
  member.challenges = null;
  setStatus(member, status, at, ctx);
}

function finishSuccessfully(member: MemberRecord, job: Job, at: number, ctx: MemberContext): void {
  member.connectionStatus = "CONNECTED";
  member.isAuthenticated = true;
  member.aggregatedAt = at;
  member.successfullyAggregatedAt = at;
  member.job = null;
  member.challenges = null;
  if (job.kind === "identify") member.identified = true;
  if (job.kind === "history") member.extendedHistory = true;
  // An identify also brings accounts in when there were none yet; it never brings new transactions.
  if (job.kind === "identify" && member.data !== null) return;
  const previous = member.data;
  const marks: AggregationMark[] = [
    ...(previous?.aggregations ?? []),
    { at, day: previous === null ? member.anchorDay : Math.floor(at / DAY_MS) * DAY_MS },
  ];
  const transactionsPerAccount = previous?.transactionsPerAccount ?? job.shape.transactionsPerAccount;
  member.data = {
    seed: member.seed,
    memberGuid: member.guid,
    memberId: member.id,
    userGuid: member.userGuid,
    userId: member.userId,
    institutionCode: member.institution.code,
    institutionGuid: member.institution.guid,
    anchorDay: member.anchorDay,
    accounts: previous?.accounts ?? job.shape.accountsPerMember,
    transactionsPerAccount,
    pendingPerAccount: previous?.pendingPerAccount ?? job.shape.pendingPerAccount,
    // About a year's worth per year of history, at least one a day when there is any.
    perDay: transactionsPerAccount === 0 ? 0 : Math.max(1, Math.round(transactionsPerAccount / 365)),
    aggregations: marks,
    historyDays: member.extendedHistory ? EXTENDED_HISTORY_DAYS : job.shape.historyDays,
  };
  if (job.kind === "identify") return;
  ctx.emit({
    kind: "aggregation",
    member,
    at,
    type: job.kind === "history" ? "HISTORY" : "AGGREGATION",
    isBackground: job.kind === "background",
    created: createdByLatest(member.data) * accountsOf(member.data).length,
    updated: 0,
  });
}

/** Whether MX would aggregate this member in the background (CONNECTED, UPDATED or CREATED, signed in). */
function backgroundEligible(member: MemberRecord): boolean {
  if (member.backgroundDisabled) return false;
  if (!["CONNECTED", "UPDATED", "CREATED"].includes(member.connectionStatus)) return false;
  if (member.isOauth && !member.isAuthenticated) return false;
  // An MFA member aggregates in the background with MX's stored tokens, so only once it has signed in.
  return outcomeOf(member).kind !== "mfa" || member.isAuthenticated;
}

function replayPhase(member: MemberRecord, job: Job, ctx: MemberContext): void {
  const at = job.phaseEndsAt;
  switch (job.phase) {
    case "queued":
      begin(member, job, at, ctx);
      return;
    case "authenticating": {
      const outcome = outcomeOf(member);
      // Background jobs use stored tokens; a foreground job re-challenges unless the knob says otherwise.
      const reuseTokens =
        member.isAuthenticated && (job.kind === "background" || !ctx.knobs.challengeForegroundJobs);
      if (outcome.kind === "ok" || (outcome.kind === "mfa" && reuseTokens)) {
        member.isAuthenticated = true;
        member.connectionStatus = "CONNECTED";
        job.phase = "aggregating";
        job.phaseEndsAt = at + job.halfMs;
      } else if (outcome.kind === "mfa") {
        job.rounds = outcome.rounds;
        job.round = 0;
        challenge(member, job, at, ctx);
      } else {
        member.isAuthenticated = false;
        endJob(member, outcome.status, at, ctx);
      }
      return;
    }
    case "challenged":
      // Nobody answered in time.
      endJob(member, "EXPIRED", at, ctx);
      return;
    case "resuming":
      if (!job.answersOk) endJob(member, "REJECTED", at, ctx);
      else if (job.round + 1 < job.rounds.length) {
        job.round += 1;
        challenge(member, job, at, ctx);
      } else finishSuccessfully(member, job, at, ctx);
      return;
    case "aggregating":
      if (job.failsAfterOauth) endJob(member, "FAILED", at, ctx);
      else finishSuccessfully(member, job, at, ctx);
      return;
  }
}

/** Replays the member's jobs, and MX's background aggregations, up to `now`. */
export function advance(member: MemberRecord, now: number, ctx: MemberContext): void {
  const interval = ctx.knobs.backgroundAggregationIntervalMs;
  for (let guard = 0; guard < 100_000; guard++) {
    const job = member.job;
    if (job !== null) {
      if (job.phaseEndsAt > now) return;
      replayPhase(member, job, ctx);
      continue;
    }
    if (interval <= 0 || !backgroundEligible(member)) return;
    const next = (member.aggregatedAt ?? member.createdAt) + interval;
    if (next > now) return;
    startJob(member, "background", next, ctx);
  }
}

export function isChallenged(member: MemberRecord): boolean {
  return member.job?.phase === "challenged" && member.challenges !== null;
}

/** The correct answer to every sandbox challenge is `correct` (as at MX's mxbank); a phone choice is any offered phone. */
export const CORRECT_ANSWER = "correct";
const PHONES = [
  { label: "Text me at (555) ***-0142", value: "PHONE_1" },
  { label: "Text me at (555) ***-8871", value: "PHONE_2" },
];

export function isCorrectAnswer(challenge: ChallengeRecord, value: string): boolean {
  if (challenge.variant === "PHONE_OPTIONS") return PHONES.some((p) => p.value === value);
  return value === CORRECT_ANSWER;
}

/** Answers the challenges (all validated by the caller); the job continues either way, then ends. */
export function resume(member: MemberRecord, allCorrect: boolean, now: number): void {
  const job = member.job;
  if (job === null || job.phase !== "challenged") return;
  member.connectionStatus = "RESUMED";
  member.challenges = null;
  job.answersOk = allCorrect;
  job.phase = "resuming";
  job.phaseEndsAt = now + job.halfMs;
}

/** OAuth: the user said no at the bank. */
export function denyOauth(member: MemberRecord, now: number, ctx: MemberContext): void {
  member.isAuthenticated = false;
  endJob(member, "DENIED", now, ctx);
}

/** OAuth with skip_aggregation: connected, nothing aggregated. */
export function connectOauthWithoutAggregation(member: MemberRecord): void {
  member.job = null;
  member.isAuthenticated = true;
  member.connectionStatus = "CONNECTED";
}

export function isBeingAggregated(member: MemberRecord, knobs: SandboxKnobs): boolean {
  const job = member.job;
  if (job === null || job.phase === "queued") return false;
  return job.phase !== "challenged" || knobs.aggregatingWhileChallenged;
}

const iso = (ms: number | null) =>
  ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function memberView(member: MemberRecord, knobs: SandboxKnobs, oauthWindowUri: string | null = null) {
  return {
    aggregated_at: iso(member.aggregatedAt),
    background_aggregation_is_disabled: member.backgroundDisabled,
    connection_status: member.connectionStatus,
    connection_status_message: CONNECTION_MESSAGES[member.connectionStatus] ?? null,
    guid: member.guid,
    id: member.id,
    institution_code: member.institution.code,
    institution_guid: member.institution.guid,
    is_being_aggregated: isBeingAggregated(member, knobs),
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

export const CONNECTION_MESSAGES: Record<string, string> = {
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
  EXPIRED: "The security question was not answered in time.",
  UPDATED: "Connecting with the new credentials…",
};

// Tiny PNGs: the pictures the image challenges ask about (data URIs, as MX sends them).
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const PIXEL_BLACK =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

const options = () => [
  { guid: null, label: "correct", value: "correct" },
  { guid: null, label: "incorrect", value: "incorrect" },
];

export function challengeView(challenge: ChallengeRecord) {
  const base = { field_name: null, guid: challenge.guid };
  switch (challenge.variant) {
    case "TEXT":
      return { ...base, label: "What city were you born in?", type: "TEXT" };
    case "CODE":
      return { ...base, label: "Enter the code we just sent to your phone.", type: "TEXT" };
    case "TOKEN":
      return { ...base, label: "Enter the code from your security token.", type: "TOKEN" };
    case "OPTIONS":
      return { ...base, label: "Which of these is the correct answer?", type: "OPTIONS", options: options() };
    case "PHONE_OPTIONS":
      return {
        ...base,
        label: "Where should we send your security code?",
        type: "OPTIONS",
        options: PHONES.map((p) => ({ guid: null, ...p })),
      };
    case "IMAGE_DATA":
      return {
        ...base,
        image_data: PIXEL,
        label: "What is this a picture of? (answer: correct)",
        type: "IMAGE_DATA",
      };
    case "IMAGE_OPTIONS":
      return {
        ...base,
        label: "Choose your security image.",
        type: "IMAGE_OPTIONS",
        image_options: [
          { data_uri: PIXEL, guid: null, label: "IMAGE_1", value: "correct" },
          { data_uri: PIXEL_BLACK, guid: null, label: "IMAGE_2", value: "incorrect" },
        ],
      };
  }
}

export function statusView(member: MemberRecord, knobs: SandboxKnobs) {
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
    is_being_aggregated: isBeingAggregated(member, knobs),
    successfully_aggregated_at: iso(member.successfullyAggregatedAt),
  };
}

// Members: create, read, update, status, aggregate, identify, extend_history, MFA, OAuth window, delete.
import * as z from "zod";
import { badRequest, conflict, forbidden, MxHttpError, unprocessable } from "./errors";
import {
  type ApiReply,
  type ApiRequest,
  accepted,
  jsonObjectBody,
  noContent,
  ok,
  parseWith,
  requireField,
  wrapped,
} from "./http";
import { findInstitution } from "./institutions";
import {
  CORRECT_ANSWER,
  challengeView,
  isChallenged,
  isCorrectAnswer,
  type JobKind,
  jobFamily,
  type MemberRecord,
  memberView,
  resume,
  startJob,
  statusView,
} from "./members";
import { pageOfList, pageWindow } from "./pagination";
import type { SandboxState } from "./state";

const DAY_MS = 86_400_000;
const referralSource = z.enum(["APP", "BROWSER"]);

/** The member fields MX takes on create and on update (MemberCreateRequest / MemberUpdateRequest). */
const memberFields = {
  credentials: z
    .array(z.object({ guid: z.string(), value: z.string().max(1024) }))
    .max(20)
    .nullish(),
  id: z.string().max(255).nullish(),
  metadata: z.string().max(10_000).nullish(),
  skip_aggregation: z.boolean().nullish(),
  background_aggregation_is_disabled: z.boolean().nullish(),
  use_cases: z.array(z.enum(["MONEY_MOVEMENT", "PFM"])).nullish(),
};

const memberCreateSchema = z.object({
  client_redirect_url: z.string().max(2048).nullish(),
  referral_source: referralSource.nullish(),
  enable_app2app: z.boolean().nullish(),
  ui_message_webview_url_scheme: z.string().nullish(),
  member: z.object({ institution_code: z.string(), is_oauth: z.boolean().nullish(), ...memberFields }),
});

const memberUpdateSchema = z.object(memberFields);

const resumeSchema = z.object({
  challenges: z.array(z.object({ guid: z.string(), value: z.string().max(1024) })).min(1),
});

function userGuid(req: ApiRequest): string {
  return req.params.user_guid ?? "";
}

function memberOf(req: ApiRequest): MemberRecord {
  return req.state.member(userGuid(req), req.params.member_guid ?? "", req.now);
}

function oauthWindowUri(state: SandboxState, member: MemberRecord, baseUrl: string, now: number): string {
  const token = state.mintToken();
  state.oauthWindows.set(token, {
    memberGuid: member.guid,
    used: false,
    expiresAt: now + state.knobs.oauthWindowTtlMs,
  });
  return `${baseUrl}/oauth/window/${token}`;
}

/** The username/password pair from credential answers: 422 for a foreign guid or a missing value. */
function secretsFrom(
  institution: MemberRecord["institution"],
  credentials: readonly { guid: string; value: string }[],
): NonNullable<MemberRecord["secrets"]> {
  const byGuid = new Map(credentials.map((c) => [c.guid, c.value]));
  const known = new Set(institution.credentials.map((c) => c.guid));
  if ([...byGuid.keys()].some((g) => !known.has(g))) {
    throw unprocessable("member.credentials contains a guid that is not a credential of this institution.");
  }
  const [usernameField, passwordField] = institution.credentials;
  const username = usernameField ? byGuid.get(usernameField.guid) : undefined;
  const password = passwordField ? byGuid.get(passwordField.guid) : undefined;
  if (username === undefined || password === undefined) {
    throw unprocessable("member.credentials must give a value for every credential of this institution.");
  }
  return { username, password };
}

function assertNoDuplicate(
  state: SandboxState,
  userGuid: string,
  institutionCode: string,
  secrets: NonNullable<MemberRecord["secrets"]>,
  self: string | null,
): void {
  const duplicate = [...state.members.values()].some(
    (other) =>
      other.guid !== self &&
      other.userGuid === userGuid &&
      other.institution.code === institutionCode &&
      other.secrets?.username === secrets.username &&
      other.secrets?.password === secrets.password,
  );
  if (duplicate)
    throw conflict("A member with these credentials already exists for this user and institution.");
}

export function createMember(req: ApiRequest): ApiReply {
  const { state } = req;
  const user = state.user(userGuid(req));
  const body = jsonObjectBody(req);
  const rawMember = wrapped(body, "member");
  requireField(rawMember, "institution_code", "member");
  const input = parseWith(memberCreateSchema, body, "body");
  const m = input.member;
  const institution = findInstitution(m.institution_code);
  if (!institution) throw unprocessable("member.institution_code is not a known institution.");
  const isOauth = m.is_oauth === true;
  if (isOauth && !institution.supports_oauth) throw unprocessable("This institution does not support OAuth.");
  if (!isOauth && institution.credentials.length === 0) {
    throw unprocessable("This institution only supports OAuth: set member.is_oauth to true.");
  }

  let secrets: MemberRecord["secrets"] = null;
  if (!isOauth) {
    if (!m.credentials || m.credentials.length === 0)
      throw badRequest("Missing parameter: member.credentials.");
    secrets = secretsFrom(institution, m.credentials);
    state.received(secrets.username, secrets.password);
    assertNoDuplicate(state, user.guid, institution.code, secrets, null);
  }

  const now = req.now;
  const member: MemberRecord = {
    guid: state.mintGuid("MBR", "member", user.guid, m.id ?? `#${state.members.size}`),
    id: m.id ?? null,
    userGuid: user.guid,
    userId: user.id,
    institution,
    isOauth,
    metadata: m.metadata ?? null,
    secrets,
    connectionStatus: isOauth ? "PENDING" : "CREATED",
    isAuthenticated: false,
    createdAt: now,
    aggregatedAt: null,
    successfullyAggregatedAt: null,
    job: null,
    jobCount: 0,
    challenges: null,
    identified: false,
    extendedHistory: false,
    backgroundDisabled: m.background_aggregation_is_disabled === true,
    data: null,
    anchorDay: Math.floor(now / DAY_MS) * DAY_MS,
    oauth: {
      clientRedirectUrl: input.client_redirect_url ?? null,
      referralSource: input.referral_source ?? "BROWSER",
      skipAggregation: m.skip_aggregation === true,
    },
    seed: state.seed,
  };
  state.members.set(member.guid, member);
  if (isOauth) {
    return accepted({
      member: memberView(member, state.knobs, oauthWindowUri(state, member, req.baseUrl, now)),
    });
  }
  if (m.skip_aggregation !== true) startJob(member, "aggregate", now, state.ctx);
  return accepted({ member: memberView(member, state.knobs) });
}

export function listMembers(req: ApiRequest): ApiReply {
  const members = req.state.membersOf(userGuid(req), req.now).map((m) => memberView(m, req.state.knobs));
  const page = pageOfList(members, pageWindow(req.query, 1000));
  return ok({ members: page.items, pagination: page.pagination });
}

export function readMember(req: ApiRequest): ApiReply {
  return ok({ member: memberView(memberOf(req), req.state.knobs) });
}

export function readMemberStatus(req: ApiRequest): ApiReply {
  return ok({ member: statusView(memberOf(req), req.state.knobs) });
}

/** PUT member: new credentials (reconnect: DENIED → CONNECTED), id, metadata; new credentials aggregate. */
export function updateMember(req: ApiRequest): ApiReply {
  const { state } = req;
  const member = memberOf(req);
  const raw = wrapped(jsonObjectBody(req), "member");
  const input = parseWith(memberUpdateSchema, raw, "member");
  if (Object.values(input).every((v) => v === undefined || v === null)) {
    throw badRequest("The member object cannot be empty.");
  }
  let secrets: MemberRecord["secrets"] = null;
  if (input.credentials && input.credentials.length > 0) {
    if (member.isOauth) throw unprocessable("An OAuth member has no credentials to update.");
    secrets = secretsFrom(member.institution, input.credentials);
    state.received(secrets.username, secrets.password);
    assertNoDuplicate(state, member.userGuid, member.institution.code, secrets, member.guid);
    const running = member.job;
    if (running !== null && !(running.phase === "queued" || jobFamily(running.kind) === "aggregate")) {
      throw conflict("Another kind of job is running for this member.");
    }
  }
  if (input.id !== undefined) member.id = input.id ?? null;
  if (input.metadata !== undefined) member.metadata = input.metadata ?? null;
  if (typeof input.background_aggregation_is_disabled === "boolean") {
    member.backgroundDisabled = input.background_aggregation_is_disabled;
  }
  if (secrets !== null) {
    member.secrets = secrets;
    member.isAuthenticated = false;
    // MX aggregates after new credentials (no 3-hour throttle: the user is here), unless asked not to.
    if (input.skip_aggregation !== true) {
      member.job = null;
      member.challenges = null;
      startJob(member, "aggregate", req.now, state.ctx, "UPDATED");
    }
  }
  return ok({ member: memberView(member, state.knobs) });
}

export function deleteMember(req: ApiRequest): ApiReply {
  const member = memberOf(req);
  req.state.members.delete(member.guid);
  return noContent();
}

function startNewJob(
  req: ApiRequest,
  kind: Extract<JobKind, "aggregate" | "identify" | "history">,
): ApiReply {
  const { state } = req;
  const knobs = state.knobs;
  const member = memberOf(req);
  // Products outside the client's contract answer 403; unsupported premium jobs 400 (MX's error table).
  if (kind === "identify" && !knobs.products.identity) {
    throw forbidden("Identity is not enabled for this client.");
  }
  if (kind === "history" && !knobs.products.extendedHistory) {
    throw forbidden("Extended transaction history is not enabled for this client.");
  }
  if (kind === "identify" && !member.institution.supports_account_identification) {
    throw unprocessable("This institution does not support account identification.");
  }
  if (kind === "history" && !member.institution.supportsExtendedHistory) {
    throw badRequest("This institution does not support extended transaction history.");
  }
  const running = member.job;
  if (running !== null) {
    // MX: 202 when a job of the same kind already runs, 409 for another kind.
    if (knobs.sameKindJobAccepted && jobFamily(running.kind) === jobFamily(kind)) {
      return accepted({ member: memberView(member, knobs) });
    }
    throw conflict("A job is already running for this member.");
  }
  // An OAuth member nobody has signed in for yet has nothing to aggregate: MX leaves it as it is.
  if (member.isOauth && !member.isAuthenticated) return accepted({ member: memberView(member, knobs) });
  // MX runs no standard aggregation within 3 hours of a successful one, and still answers 202.
  const last = member.successfullyAggregatedAt;
  const throttled =
    kind === "aggregate" &&
    knobs.minAggregationIntervalMs > 0 &&
    last !== null &&
    req.now - last < knobs.minAggregationIntervalMs;
  if (!throttled) startJob(member, kind, req.now, state.ctx);
  return accepted({ member: memberView(member, knobs) });
}

export const aggregateMember = (req: ApiRequest) => startNewJob(req, "aggregate");
export const identifyMember = (req: ApiRequest) => startNewJob(req, "identify");
export const extendHistory = (req: ApiRequest) => startNewJob(req, "history");

export function listChallenges(req: ApiRequest): ApiReply {
  const member = memberOf(req);
  if (!isChallenged(member) || !member.challenges) return noContent();
  const page = pageOfList(member.challenges.map(challengeView), pageWindow(req.query, 1000));
  return ok({ challenges: page.items, pagination: page.pagination });
}

export function resumeMember(req: ApiRequest): ApiReply {
  const member = memberOf(req);
  const rawMember = wrapped(jsonObjectBody(req), "member");
  requireField(rawMember, "challenges", "member");
  const input = parseWith(resumeSchema, rawMember, "member");
  if (!isChallenged(member) || !member.challenges) {
    // MX: "A member must have a connection_status of CHALLENGED … a 405 Method Not Allowed error will be
    // returned otherwise" (resume-aggregation reference); the status is a knob.
    throw new MxHttpError(
      req.state.knobs.resumeNotChallengedStatus,
      "This member has no challenge to answer.",
    );
  }
  const answers = new Map(input.challenges.map((c) => [c.guid, c.value]));
  const expected = new Set(member.challenges.map((c) => c.guid));
  if ([...answers.keys()].some((g) => !expected.has(g))) {
    throw unprocessable("member.challenges contains a guid that is not one of this member's challenges.");
  }
  if ([...expected].some((g) => !answers.has(g))) {
    throw unprocessable("member.challenges must answer every challenge.");
  }
  // Typed answers are secrets; a chosen option's value is what MX showed the user (and MX's test bank's typed
  // answer, "correct", is also one of its option values, so it cannot be told from one either).
  for (const c of member.challenges) {
    const answer = answers.get(c.guid);
    if (!c.variant.endsWith("OPTIONS") && answer !== CORRECT_ANSWER) req.state.received(answer);
  }
  const allCorrect = member.challenges.every((c) => isCorrectAnswer(c, answers.get(c.guid) ?? ""));
  resume(member, allCorrect, req.now);
  return accepted({ member: memberView(member, req.state.knobs) });
}

export function requestOauthWindowUri(req: ApiRequest): ApiReply {
  const member = memberOf(req);
  if (!member.isOauth) throw unprocessable("This member is not an OAuth member.");
  const { query } = req;
  const source = query.get("referral_source");
  if (source !== null && !referralSource.safeParse(source).success) {
    throw unprocessable("referral_source must be APP or BROWSER.");
  }
  const skip = query.get("skip_aggregation");
  if (skip !== null && skip !== "true" && skip !== "false") {
    throw unprocessable("skip_aggregation must be true or false.");
  }
  member.oauth = {
    clientRedirectUrl: query.get("client_redirect_url") ?? member.oauth.clientRedirectUrl,
    referralSource: source ?? member.oauth.referralSource,
    skipAggregation: skip === null ? member.oauth.skipAggregation : skip === "true",
  };
  return ok({
    member: { guid: member.guid, oauth_window_uri: oauthWindowUri(req.state, member, req.baseUrl, req.now) },
  });
}

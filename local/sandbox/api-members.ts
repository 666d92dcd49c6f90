// Members: create, read, status, aggregate, identify, MFA, OAuth window, delete.
import * as z from "zod";
import { badRequest, conflict, unprocessable } from "./errors";
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
  isJobRunning,
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

const memberCreateSchema = z.object({
  client_redirect_url: z.string().max(2048).nullish(),
  referral_source: referralSource.nullish(),
  enable_app2app: z.boolean().nullish(),
  ui_message_webview_url_scheme: z.string().nullish(),
  member: z.object({
    institution_code: z.string(),
    credentials: z
      .array(z.object({ guid: z.string(), value: z.string().max(1024) }))
      .max(20)
      .nullish(),
    id: z.string().max(255).nullish(),
    metadata: z.string().max(10_000).nullish(),
    is_oauth: z.boolean().nullish(),
    skip_aggregation: z.boolean().nullish(),
    background_aggregation_is_disabled: z.boolean().nullish(),
    use_cases: z.array(z.enum(["MONEY_MOVEMENT", "PFM"])).nullish(),
  }),
});

const resumeSchema = z.object({
  challenges: z.array(z.object({ guid: z.string(), value: z.string().max(1024) })).min(1),
});

function userGuid(req: ApiRequest): string {
  return req.params.user_guid ?? "";
}

function memberOf(req: ApiRequest): MemberRecord {
  return req.state.member(userGuid(req), req.params.member_guid ?? "", req.now);
}

function oauthWindowUri(state: SandboxState, member: MemberRecord, baseUrl: string): string {
  const token = state.mintToken();
  state.oauthWindows.set(token, { memberGuid: member.guid, used: false });
  return `${baseUrl}/oauth/window/${token}`;
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
    const byGuid = new Map(m.credentials.map((c) => [c.guid, c.value]));
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
    secrets = { username, password };
    const duplicate = [...state.members.values()].some(
      (other) =>
        other.userGuid === user.guid &&
        other.institution.code === institution.code &&
        other.secrets?.username === username &&
        other.secrets?.password === password,
    );
    if (duplicate)
      throw conflict("A member with these credentials already exists for this user and institution.");
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
    aggregatedAt: null,
    successfullyAggregatedAt: null,
    job: null,
    jobCount: 0,
    challenges: null,
    identified: false,
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
  if (isOauth) return accepted({ member: memberView(member, oauthWindowUri(state, member, req.baseUrl)) });
  if (m.skip_aggregation !== true) startJob(member, "aggregate", now, state.knobs);
  return accepted({ member: memberView(member) });
}

export function listMembers(req: ApiRequest): ApiReply {
  const members = req.state.membersOf(userGuid(req), req.now).map((m) => memberView(m));
  const page = pageOfList(members, pageWindow(req.query, 1000));
  return ok({ members: page.items, pagination: page.pagination });
}

export function readMember(req: ApiRequest): ApiReply {
  return ok({ member: memberView(memberOf(req)) });
}

export function readMemberStatus(req: ApiRequest): ApiReply {
  return ok({ member: statusView(memberOf(req)) });
}

export function deleteMember(req: ApiRequest): ApiReply {
  const member = memberOf(req);
  req.state.members.delete(member.guid);
  return noContent();
}

function startNewJob(req: ApiRequest, kind: "aggregate" | "identify"): ApiReply {
  const member = memberOf(req);
  if (kind === "identify" && !member.institution.supports_account_identification) {
    throw unprocessable("This institution does not support account identification.");
  }
  if (isJobRunning(member)) throw conflict("A job is already running for this member.");
  // An OAuth member nobody has signed in for yet has nothing to aggregate: MX leaves it as it is.
  if (!(member.isOauth && !member.isAuthenticated)) startJob(member, kind, req.now, req.state.knobs);
  return accepted({ member: memberView(member) });
}

export const aggregateMember = (req: ApiRequest) => startNewJob(req, "aggregate");
export const identifyMember = (req: ApiRequest) => startNewJob(req, "identify");

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
  if (!isChallenged(member) || !member.challenges)
    throw unprocessable("This member has no challenge to answer.");
  const answers = new Map(input.challenges.map((c) => [c.guid, c.value]));
  const expected = new Set(member.challenges.map((c) => c.guid));
  if ([...answers.keys()].some((g) => !expected.has(g))) {
    throw unprocessable("member.challenges contains a guid that is not one of this member's challenges.");
  }
  if ([...expected].some((g) => !answers.has(g))) {
    throw unprocessable("member.challenges must answer every challenge.");
  }
  const allCorrect = [...answers.values()].every((v) => v === CORRECT_ANSWER);
  resume(member, allCorrect, req.now);
  return accepted({ member: memberView(member) });
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
    member: { guid: member.guid, oauth_window_uri: oauthWindowUri(req.state, member, req.baseUrl) },
  });
}

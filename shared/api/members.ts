// The Connect API's member use cases. Each takes its ports (MX, stores, workflow, keys, clock) and the
// caller's user id; a guid the user does not own is NotFound exactly like a missing one.
import { randomUUID } from "node:crypto";
import type { MxApi } from "../mx/api";
import { MxBadRequestError, MxConflictError, MxNotFoundError } from "../mx/errors";
import type { Member } from "../mx/schemas";
import type { MemberRecord, MemberStore, OnceStore } from "../storage/ports";
import { initialRunName, userRefreshRunName } from "../sync/names";
import type { SfnPort } from "../sync/sfn";
import { startSync } from "../sync/start-sync";
import { ApiError, BadRequestError, ConflictError, NotFoundError } from "./errors";
import {
  CREATE_CLAIM_SECONDS,
  CREATE_RETRY_AFTER_SECONDS,
  CREATE_WAIT_SECONDS,
  memberIdempotencyId,
} from "./idempotency";
import { explainRefusedMember } from "./institutions";
import { signOauthState } from "./oauth-state";
import { isAllowedRedirect } from "./redirects";
import type { CreateMemberBody, MemberView } from "./schemas";
import { memberView } from "./views";

export type Clock = () => Date;

export async function findOwnedMember(
  members: MemberStore,
  userId: string,
  memberGuid: string,
): Promise<MemberRecord> {
  // The store is keyed by user: another user's guid is simply absent, so both answer the same.
  const member = await members.getMember(userId, memberGuid);
  // One message for every guid: the answer must not differ from one guid to another.
  if (!member) throw new NotFoundError("Member not found.");
  return member;
}

/** The MX user of this app user: from a stored member when there is one, else created (or found) at MX. */
async function mxUserGuidFor(deps: { mx: MxApi; members: MemberStore }, userId: string): Promise<string> {
  const [known] = await deps.members.listMembers(userId);
  if (known) return known.mxUserGuid;
  // createUser answers 409 with the existing user found by our id: safe to repeat.
  return (await deps.mx.createUser({ id: userId })).guid;
}

export interface CreateMemberDeps {
  mx: MxApi;
  members: MemberStore;
  once: OnceStore;
  sfn: SfnPort;
  keys: { oauthState: Buffer; memberId: Buffer };
  now: Clock;
  redirectAllowList: readonly string[];
  /** This API's public base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com */
  apiBaseUrl: string;
}

/** 400 unless the OAuth `redirect_url` (if any) is on the allow-list. */
export function checkRedirectUrl(
  body: Pick<CreateMemberBody, "redirect_url">,
  allowList: readonly string[],
): void {
  if (body.redirect_url && !isAllowedRedirect(body.redirect_url, allowList)) {
    throw new BadRequestError("body.redirect_url: is not on this API's allow-list of app URLs");
  }
}

export interface CreatedMember {
  member: MemberView & { oauth_window_uri?: string };
}

/** Between two tries at an identical create's claim (plus up to as much again, at random). */
const CREATE_RETRY_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `create` while holding the claim on this member's idempotency id, so identical creates (the same
 * member whatever `identify` says) run one after another: the first makes the MX member, each next one
 * finds it. A create still waiting after CREATE_WAIT_SECONDS answers 409 with Retry-After.
 */
async function oneCreateAtATime<T>(deps: CreateMemberDeps, id: string, create: () => Promise<T>): Promise<T> {
  const key = `create:${id}`;
  const holder = randomUUID();
  const deadline = deps.now().getTime() + CREATE_WAIT_SECONDS * 1000;
  while (!(await deps.once.claim(key, CREATE_CLAIM_SECONDS, holder))) {
    if (deps.now().getTime() >= deadline) {
      throw new ApiError(
        409,
        "create_in_progress",
        "The same member is being created by another request. Retry shortly: it answers that member.",
        { "Retry-After": String(CREATE_RETRY_AFTER_SECONDS) },
      );
    }
    await sleep(CREATE_RETRY_MS + Math.floor(Math.random() * CREATE_RETRY_MS));
  }
  try {
    return await create();
  } finally {
    // A release that fails must not turn a made member into an error: the claim expires by itself.
    await deps.once.release(key, holder).catch(() => undefined);
  }
}

export async function createMember(
  deps: CreateMemberDeps,
  userId: string,
  body: CreateMemberBody,
): Promise<CreatedMember> {
  // Every check that can refuse the request comes before the first side effect.
  checkRedirectUrl(body, deps.redirectAllowList);
  const isOauth = body.is_oauth === true;
  const id = memberIdempotencyId(deps.keys.memberId, {
    userId,
    institutionCode: body.institution_code,
    credentials: body.credentials,
    isOauth,
  });
  return oneCreateAtATime(deps, id, () => createClaimedMember(deps, userId, body, id));
}

async function createClaimedMember(
  deps: CreateMemberDeps,
  userId: string,
  body: CreateMemberBody,
  id: string,
): Promise<CreatedMember> {
  const isOauth = body.is_oauth === true;
  const mxUserGuid = await mxUserGuidFor(deps, userId);

  // MX answers a repeated credential member with 409 (the client then finds it by `id`), but creates a new
  // OAuth member every time: so an OAuth retry is matched here, first in our table, then at MX by `id`.
  const created =
    (isOauth ? await existingOauthMember(deps, userId, mxUserGuid, body.institution_code, id) : undefined) ??
    (await createAtMx(deps.mx, mxUserGuid, body, id));

  const known = await deps.members.getMember(userId, created.guid);
  // MX still knows a credential member whose deletion has begun: this create must not revive it.
  if (known?.deletingAt !== undefined) {
    throw new ConflictError("conflict", "This member is being deleted. Create it again once it is gone.");
  }
  const stored = await deps.members.putMember({
    userId,
    mxUserGuid,
    memberGuid: created.guid,
    institutionCode: body.institution_code,
    isOauth,
    // Sticky: a repeated create never turns it off. A run already under way keeps what it was started
    // with; the member's next run fetches the owners.
    identify: body.identify === true || known?.identify === true,
    ...(created.connection_status ? { connectionStatus: created.connection_status } : {}),
    ...(body.redirect_url ? { redirectUrl: body.redirect_url } : {}),
  });

  if (!isOauth) {
    // Credentials: MX is already connecting; the named run makes a retried create start nothing new.
    await startSync(deps.sfn, stored, "initial", initialRunName(created.guid), { trigger: "create" });
    const current = (await deps.members.getMember(userId, created.guid)) ?? stored;
    return { member: memberView(current) };
  }

  // OAuth: the window must send the browser to our callback with a state naming this member, which only
  // exists now; so ask MX for the window URL once the member exists.
  const { token } = signOauthState(deps.keys.oauthState, { userId, memberGuid: created.guid }, deps.now());
  const withWindow = await deps.mx.requestOauthWindowUri(mxUserGuid, created.guid, {
    clientRedirectUrl: `${deps.apiBaseUrl}/v1/oauth/callback/${token}`,
    referralSource: "APP",
  });
  const view: CreatedMember["member"] = memberView(stored);
  if (withWindow.oauth_window_uri) view.oauth_window_uri = withWindow.oauth_window_uri;
  return { member: view };
}

async function createAtMx(
  mx: MxApi,
  mxUserGuid: string,
  body: CreateMemberBody,
  id: string,
): Promise<Member> {
  const isOauth = body.is_oauth === true;
  try {
    return await mx.createMember(mxUserGuid, {
      institutionCode: body.institution_code,
      credentials: isOauth ? undefined : body.credentials,
      isOauth: isOauth || undefined,
      id,
    });
  } catch (error) {
    if (
      error instanceof MxNotFoundError ||
      error instanceof MxBadRequestError ||
      error instanceof MxConflictError
    ) {
      throw await explainRefusedMember({ mx }, body);
    }
    throw error;
  }
}

/** The user's OAuth member at this institution, if one exists: in our table, else at MX under our `id`. */
async function existingOauthMember(
  deps: { mx: MxApi; members: MemberStore },
  userId: string,
  mxUserGuid: string,
  institutionCode: string,
  id: string,
): Promise<Pick<Member, "guid" | "connection_status"> | undefined> {
  const known = await deps.members.listMembers(userId);
  // A member being deleted is not reused, even while MX still lists it: the create makes a new one.
  const deleting = new Set(known.filter((m) => m.deletingAt !== undefined).map((m) => m.memberGuid));
  const stored = known.find(
    (m) => m.isOauth && m.institutionCode === institutionCode && !deleting.has(m.memberGuid),
  );
  if (stored) return { guid: stored.memberGuid, connection_status: stored.connectionStatus ?? null };
  // A create that reached MX but not our table (a crash in between) is found by its `id`.
  for (let page = 1; page <= 100; page++) {
    const members = await deps.mx.listMembers(mxUserGuid, { page });
    const found = members.items.find((m) => m.id === id && !deleting.has(m.guid));
    if (found) return found;
    if (page >= members.pagination.total_pages) return undefined;
  }
  return undefined;
}

export async function listMembers(deps: { members: MemberStore }, userId: string): Promise<MemberView[]> {
  return (await deps.members.listMembers(userId)).map(memberView);
}

export async function getMember(
  deps: { members: MemberStore },
  userId: string,
  memberGuid: string,
): Promise<MemberView> {
  return memberView(await findOwnedMember(deps.members, userId, memberGuid));
}

/** The prompts the workflow stored for the user; empty when nothing waits. Answers are never stored. */
export async function getChallenges(deps: { members: MemberStore }, userId: string, memberGuid: string) {
  const member = await findOwnedMember(deps.members, userId, memberGuid);
  return member.sync.status === "CHALLENGED" ? (member.challenges ?? []) : [];
}

/** Refresh now. A run already holding the member means nothing new starts; either way 202 with the member. */
export async function syncMember(
  deps: { members: MemberStore; sfn: SfnPort; now: Clock },
  userId: string,
  memberGuid: string,
): Promise<{ member: MemberView; started: boolean }> {
  const member = await findOwnedMember(deps.members, userId, memberGuid);
  if (member.deletingAt !== undefined) throw new ConflictError("conflict", "The member is being deleted.");
  const now = deps.now();
  // A run holds the member while its lease lives (released at Finish; expires if the run died).
  const held = member.sync.syncRun !== undefined && (member.sync.leaseExpiresAt ?? 0) > now.getTime();
  if (held) return { member: memberView(member), started: false };
  // A run holding the member is left alone; the lease covers a start that races one anyway.
  const { started } = await startSync(deps.sfn, member, "refresh", userRefreshRunName(memberGuid, now), {
    trigger: "user",
  });
  return { member: memberView(member), started };
}

// Reconnect (Plaid's "update mode"): a member that needs the user returns to SYNCED without being deleted,
// its stored data kept throughout. A credential member sends new credentials (MX's PUT member, which
// aggregates with them) and a sync follows; an OAuth member gets a fresh OAuth window through the same
// signed, single-use callback state, whose callback starts the sync. The same call with no body gives an
// OAuth member a new window when the first link was lost.
import type { MxApi } from "../mx/api";
import { MxBadRequestError, MxConflictError, MxNotFoundError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import { reconnectRunName } from "../sync/names";
import type { SfnPort } from "../sync/sfn";
import { startSync } from "../sync/start-sync";
import { BadRequestError, ConflictError, UnprocessableError } from "./errors";
import { type Clock, findOwnedMember } from "./members";
import { signOauthState } from "./oauth-state";
import type { ReconnectBody } from "./schemas";
import { memberView } from "./views";

export interface ReconnectDeps {
  mx: MxApi;
  members: MemberStore;
  sfn: SfnPort;
  keys: { oauthState: Buffer };
  now: Clock;
  apiBaseUrl: string;
}

export async function reconnectMember(
  deps: ReconnectDeps,
  userId: string,
  memberGuid: string,
  body: ReconnectBody,
): Promise<{ member: ReturnType<typeof memberView> & { oauth_window_uri?: string } }> {
  const member = await findOwnedMember(deps.members, userId, memberGuid);
  // Every refusal comes before MX hears of it.
  if (member.isOauth && body.credentials) {
    throw new BadRequestError(
      "body.credentials: must be absent for an OAuth member (it reconnects at the bank)",
    );
  }
  if (!member.isOauth && !body.credentials) {
    throw new BadRequestError("body.credentials: is required to reconnect a credential member");
  }
  const now = deps.now();
  const held = member.sync.syncRun !== undefined && (member.sync.leaseExpiresAt ?? 0) > now.getTime();
  // A running sync (one waiting for an MFA answer too) owns the member: a second would find it held.
  if (held) {
    throw new ConflictError("conflict", "A sync of this member is running; reconnect once it has ended.");
  }

  if (member.isOauth) {
    const { token } = signOauthState(deps.keys.oauthState, { userId, memberGuid }, now);
    const withWindow = await mxCall(() =>
      deps.mx.requestOauthWindowUri(member.mxUserGuid, memberGuid, {
        clientRedirectUrl: `${deps.apiBaseUrl}/v1/oauth/callback/${token}`,
        referralSource: "APP",
      }),
    );
    const view: ReturnType<typeof memberView> & { oauth_window_uri?: string } = memberView(member);
    if (withWindow.oauth_window_uri) view.oauth_window_uri = withWindow.oauth_window_uri;
    return { member: view };
  }

  // The credentials go to MX and nowhere else: not stored, not logged, not in the workflow's input.
  const updated = await mxCall(() =>
    deps.mx.updateMemberCredentials(member.mxUserGuid, memberGuid, body.credentials ?? []),
  );
  if (updated.connection_status) {
    await deps.members.recordConnectionStatus(userId, memberGuid, updated.connection_status);
  }
  // MX is aggregating with the new credentials: the run polls it ("initial": no second aggregate), then
  // reads the whole history window again, since the gap while disconnected may be long.
  await startSync(deps.sfn, member, "initial", reconnectRunName(memberGuid, now), { trigger: "reconnect" });
  const current = (await deps.members.getMember(userId, memberGuid)) ?? member;
  return { member: memberView(current) };
}

/** MX refusing the request is the client's mistake to fix (422); anything else propagates. */
async function mxCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof MxBadRequestError || error instanceof MxConflictError) {
      throw new UnprocessableError(
        "MX did not accept this reconnect: check the credential fields (from /v1/institutions/{code}/credentials).",
      );
    }
    if (error instanceof MxNotFoundError) {
      throw new UnprocessableError(
        "This connection no longer exists at MX. Delete it and connect the bank again.",
      );
    }
    throw error;
  }
}

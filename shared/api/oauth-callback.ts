// The OAuth callback: MX sends the user's browser here after the bank. The state must be genuine, unexpired
// and unused (checked in that order, before anything changes); then the redirect's outcome is recorded, the
// sync starts, and the browser goes back to the app's allow-listed URL or gets a short page. Every page
// links back to the app: the member's allow-listed redirect_url when known, else the deployment's app URL
// (never a URL from the query string: no open redirect).
import { oauthErrorReason } from "../domain/connection";
import type { MemberStore, OnceStore } from "../storage/ports";
import { oauthRunName } from "../sync/names";
import type { SfnPort } from "../sync/sfn";
import { startSync } from "../sync/start-sync";
import type { Clock } from "./members";
import { verifyOauthState } from "./oauth-state";
import { isAllowedRedirect, withOutcome } from "./redirects";

export interface OauthCallbackDeps {
  members: MemberStore;
  once: OnceStore;
  sfn: SfnPort;
  keys: { oauthState: Buffer };
  now: Clock;
  redirectAllowList: readonly string[];
}

export interface OauthCallbackQuery {
  status?: "success" | "error";
  member_guid?: string;
  error_reason?: string;
}

export type CallbackOutcome =
  /** `wayBack`: an allow-listed app URL the page links to; absent when none is known. */
  | { kind: "page"; status: number; title: string; message: string; wayBack?: string }
  | { kind: "redirect"; location: string };

const refused = (status: number, message: string, wayBack: string | undefined): CallbackOutcome => ({
  kind: "page",
  status,
  title: "This link does not work",
  message,
  ...(wayBack ? { wayBack } : {}),
});

/**
 * The deployment's app URL, for a page that knows no member: the first REDIRECT_ALLOW_LIST entry that is
 * itself a valid redirect target (the builder lists their app first; no new setting to keep in step).
 */
function appUrl(allowList: readonly string[]): string | undefined {
  return allowList.find((entry) => isAllowedRedirect(entry, allowList));
}

/** The member's redirect_url while it is still allow-listed (the list may have changed since it was set). */
const memberAppUrl = (redirectUrl: string | undefined, allowList: readonly string[]) =>
  redirectUrl && isAllowedRedirect(redirectUrl, allowList) ? redirectUrl : undefined;

/** What became of a state, noted on its nonce's record: only a start not known to have happened is retried. */
const STATE_USE = { starting: "starting", started: "started", error: "error" } as const;

/** How long a used nonce is remembered: past the state's own expiry, after which it is refused anyway. */
const NONCE_MARGIN_SECONDS = 60;
/** The error outcome is written under a short lease of its own. */
const RECORD_LEASE_MS = 60_000;

export async function handleOauthCallback(
  deps: OauthCallbackDeps,
  token: string,
  query: OauthCallbackQuery,
): Promise<CallbackOutcome> {
  const now = deps.now();
  const fallback = appUrl(deps.redirectAllowList);
  const verified = verifyOauthState(deps.keys.oauthState, token, now);
  if (!verified.ok) {
    return verified.reason === "expired"
      ? refused(410, "This sign-in link has expired. Start connecting the bank again from the app.", fallback)
      : refused(400, "This sign-in link is not valid.", fallback);
  }
  const { state } = verified;
  if (query.member_guid !== undefined && query.member_guid !== state.memberGuid) {
    return refused(400, "This sign-in link is not valid.", fallback);
  }
  const member = await deps.members.getMember(state.userId, state.memberGuid);
  // A member being deleted is gone for the callback too: nothing may start on it.
  if (!member || member.deletingAt !== undefined) {
    return refused(404, "This bank connection no longer exists.", fallback);
  }
  const memberApp = memberAppUrl(member.redirectUrl, deps.redirectAllowList);
  const wayBack = memberApp ?? fallback;

  // Single use: the first callback with this state claims its nonce. A replay stops here, changing
  // nothing, except the same success callback while its start is not known to have happened (it failed, or
  // its Lambda died): that one tries the start again. The run's name comes from the nonce, so however
  // many tries there are, Step Functions starts one run.
  const succeeded = query.status !== "error";
  const nonceKey = `oauth-state:${state.nonce}`;
  const ttlSeconds = Math.ceil((state.expiresAt - now.getTime()) / 1000) + NONCE_MARGIN_SECONDS;
  const use = succeeded ? STATE_USE.starting : STATE_USE.error;
  if (!(await deps.once.claim(nonceKey, ttlSeconds, use))) {
    const earlier = await deps.once.read(nonceKey);
    if (!succeeded || earlier?.note !== STATE_USE.starting) {
      return refused(409, "This sign-in link was already used.", wayBack);
    }
  }

  const runName = oauthRunName(member.memberGuid, state.nonce);
  if (succeeded) {
    // The redirect is a hint: the workflow reads the member's real status from MX and decides.
    // A member that synced before is coming back through a new OAuth window (a reconnect).
    await startSync(deps.sfn, member, "initial", runName, {
      trigger: member.sync.lastSyncedAt === undefined ? "oauth" : "reconnect",
    });
    await deps.once.mark(nonceKey, STATE_USE.started);
  } else {
    const reason = oauthErrorReason(query.error_reason);
    // Recorded as a (short) run of its own, so it never overwrites a run that holds the member.
    if (
      await deps.members.acquireSyncLease(member.userId, member.memberGuid, runName, RECORD_LEASE_MS, now)
    ) {
      await deps.members.finishSync(member.userId, member.memberGuid, runName, {
        status: "NEEDS_USER",
        outcome: "NEEDS_USER",
        reason,
        finishedAt: now.toISOString(),
      });
    }
  }

  if (memberApp) {
    // "received", not "success": MX's redirect is a hint; the member's sync status says whether it connected.
    const outcome: Record<string, string> = {
      status: succeeded ? "received" : "error",
      member_guid: member.memberGuid,
    };
    if (!succeeded && query.error_reason) outcome.error_reason = query.error_reason;
    return { kind: "redirect", location: withOutcome(memberApp, outcome) };
  }
  const page: CallbackOutcome = succeeded
    ? {
        kind: "page",
        status: 200,
        title: "Sign-in received",
        message:
          "The bank sent you back. The connection is being checked now: return to the app to see whether it worked. You can close this window.",
      }
    : {
        kind: "page",
        status: 200,
        title: "Bank not connected",
        message: `${oauthErrorReason(query.error_reason)} You can close this window and return to the app.`,
      };
  return wayBack ? { ...page, wayBack } : page;
}

// The OAuth pages a browser sees: MX's oauth_window_uri stands in for the bank's sign-in page.
// GET /oauth/window/{token}      single use: a plain HTML page with "authorize", "deny" and "cancel" links
// GET /oauth/authorize/{token}   single use: member aggregates; redirect to client_redirect_url (APP)
// GET /oauth/deny/{token}        single use: member DENIED; redirect with status=error&error_reason=DENIED
// GET /oauth/cancel/{token}      single use: member stays PENDING; error_reason=CANCELLED
// Every link expires `oauthWindowTtlMs` after the window URI was issued: error_reason=SESSION_EXPIRED.
// As at MX the redirect is only a hint: the member's status decides.
import { connectOauthWithoutAggregation, denyOauth, type MemberRecord, startJob } from "./members";
import type { OauthToken, SandboxState } from "./state";

export interface PageReply {
  status: number;
  html?: string;
  location?: string;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>
`;
}

const errorPage = (status: number, message: string): PageReply => ({
  status,
  html: page("MX sandbox: OAuth", `<p id="error">${escapeHtml(message)}</p>`),
});

/** Appends MX's redirect parameters to the client's URL (any scheme: apps use custom ones). */
function redirectTo(base: string, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  try {
    const url = new URL(base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  } catch {
    return `${base}${base.includes("?") ? "&" : "?"}${query}`;
  }
}

/** Where the browser goes when the flow ends: the app (APP + URL) or a plain page. */
function finish(
  member: MemberRecord,
  params: Record<string, string>,
  title: string,
  body: string,
): PageReply {
  // As at MX: the browser goes back to client_redirect_url only for referral_source APP.
  if (member.oauth.referralSource === "APP" && member.oauth.clientRedirectUrl) {
    return { status: 302, location: redirectTo(member.oauth.clientRedirectUrl, params) };
  }
  return { status: 200, html: page(title, body) };
}

/** Takes a single-use token: the member it names, or an error page (unknown 404, used 410, expired). */
function take(
  tokens: Map<string, OauthToken>,
  state: SandboxState,
  token: string,
  now: number,
): MemberRecord | PageReply {
  const entry = tokens.get(token);
  if (!entry) return errorPage(404, "This OAuth link is not valid.");
  if (entry.used)
    return errorPage(410, "This OAuth link has already been used. Request a new oauth_window_uri.");
  entry.used = true;
  const member = state.members.get(entry.memberGuid);
  if (!member) return errorPage(410, "This member no longer exists.");
  if (now > entry.expiresAt) {
    // MX's OAuth error reason for a session that timed out; the member is unchanged (still PENDING).
    return finish(
      member,
      { status: "error", member_guid: member.guid, error_reason: "SESSION_EXPIRED" },
      "Session expired",
      '<p id="expired">This sign-in session expired. Request a new oauth_window_uri.</p>',
    );
  }
  return member;
}

export function handleOauthPage(state: SandboxState, path: string, baseUrl: string, now: number): PageReply {
  const match = /^\/oauth\/(window|authorize|deny|cancel)\/([A-Za-z0-9_-]{1,100})$/.exec(path);
  if (!match) return errorPage(404, "Not found.");
  const [, action, token = ""] = match;

  if (action === "window") {
    const member = take(state.oauthWindows, state, token, now);
    if (!("guid" in member)) return member;
    const decision = state.mintToken();
    const window = state.oauthWindows.get(token);
    state.oauthDecisions.set(decision, {
      memberGuid: member.guid,
      used: false,
      expiresAt: window?.expiresAt ?? now,
    });
    const name = escapeHtml(member.institution.name);
    return {
      status: 200,
      html: page(
        `Sign in to ${member.institution.name}`,
        `<p>This is the MX sandbox's stand-in for ${name}'s OAuth page. Share your accounts with the app?</p>
<p><a id="authorize" href="${baseUrl}/oauth/authorize/${decision}">Authorize</a></p>
<p><a id="deny" href="${baseUrl}/oauth/deny/${decision}">Deny</a></p>
<p><a id="cancel" href="${baseUrl}/oauth/cancel/${decision}">Cancel</a></p>`,
      ),
    };
  }

  const member = take(state.oauthDecisions, state, token, now);
  if (!("guid" in member)) return member;
  if (action === "cancel") {
    return finish(
      member,
      { status: "error", member_guid: member.guid, error_reason: "CANCELLED" },
      "Not connected",
      '<p id="cancelled">You cancelled.</p>',
    );
  }
  const authorized = action === "authorize";
  if (authorized) {
    if (member.oauth.skipAggregation) connectOauthWithoutAggregation(member);
    else startJob(member, "oauth", now, state.ctx);
  } else {
    denyOauth(member, now, state.ctx);
  }
  return finish(
    member,
    authorized
      ? { status: "success", member_guid: member.guid }
      : { status: "error", member_guid: member.guid, error_reason: "DENIED" },
    authorized ? "Connected" : "Not connected",
    `<p id="${authorized ? "success" : "denied"}">${
      authorized ? "You shared your accounts. You can close this window." : "You did not share your accounts."
    }</p>`,
  );
}

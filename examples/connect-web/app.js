// The example connect app: sign in, pick a bank, send the credentials it asks for (or open its OAuth page),
// answer MFA, watch the sync, then read accounts and transactions. Only the public API is called (api.js).
// The API's base URL is this page's origin, or `?api=https://…` (then the API must allow this origin: CORS).
import { ApiError, createApi, devSignIn } from "./api.js";

const params = new URLSearchParams(location.search);
// Kept for the session: the bank sends the browser back to RETURN_URL, without `?api`.
const API_URL = (params.get("api") ?? sessionStorage.getItem("mx-connect-api") ?? location.origin).replace(
  /\/+$/,
  "",
);
sessionStorage.setItem("mx-connect-api", API_URL);
/** Where the bank sends the browser back after OAuth: this page (it must be on the API's allow-list). */
const RETURN_URL = `${location.origin}${location.pathname}`;
/** The OAuth window comes back here: the marker tells that page it is the bank's window, not the app's. */
const OAUTH_RETURN_URL = `${RETURN_URL}?oauth_window=1`;
// The bank's window tells the app's window how it ended. Not `window.opener`: a page on the way (the bank's,
// or our callback with its Cross-Origin-Opener-Policy) may sever it; a same-origin channel always works.
const oauthChannel = new BroadcastChannel("mx-connect-oauth");
const ENDED = new Set(["SYNCED", "NEEDS_USER", "FAILED", "TIMED_OUT"]);
const POLL_MS = 500;

const $ = (id) => document.getElementById(id);
let api;
let watching; // the member guid whose sync is shown in "Connection"

/** Builds an element; children are nodes or text (never parsed as HTML). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(
    ...(error instanceof ApiError
      ? [el("code", {}, error.code), `: ${error.message}`]
      : [String(error.message ?? error)]),
  );
  box.hidden = false;
}

/** Runs an action from the UI; its error is shown instead of thrown (a user's action clears the last one). */
const action =
  (fn, { background = false } = {}) =>
  async (...args) => {
    if (!background) showError(undefined);
    try {
      await fn(...args);
    } catch (error) {
      showError(error);
    }
  };

// ---- sign in -------------------------------------------------------------------------------------

function signedIn(user, token) {
  sessionStorage.setItem("mx-connect", JSON.stringify({ user, token }));
  api = createApi(API_URL, token);
  $("sign-in-form").hidden = true;
  $("signed-in").hidden = false;
  $("signed-in-user").textContent = user;
  for (const id of ["connect", "members-section"]) $(id).hidden = false;
}

$("sign-in-form").addEventListener(
  "submit",
  action(async (event) => {
    event.preventDefault();
    const user = $("user-id").value.trim();
    signedIn(user, await devSignIn(API_URL, user));
    await refreshMembers();
  }),
);

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem("mx-connect");
  location.reload();
});

// ---- institutions and credentials ---------------------------------------------------------------

$("search-form").addEventListener(
  "submit",
  action(async (event) => {
    event.preventDefault();
    const { institutions } = await api.searchInstitutions($("search-name").value.trim());
    $("credentials-form").hidden = true;
    $("institutions").replaceChildren(
      ...institutions.map((institution) =>
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", "data-code": institution.code, onclick: action(() => choose(institution)) },
            institution.name ?? institution.code,
          ),
          institution.supports_oauth ? el("span", { class: "badge" }, "OAuth") : undefined,
        ),
      ),
    );
    if (institutions.length === 0) $("institutions").append(el("li", { class: "muted" }, "No match."));
  }),
);

async function choose(institution) {
  const form = $("credentials-form");
  form.dataset.code = institution.code;
  $("credentials-title").textContent = institution.name ?? institution.code;
  if (institution.supports_oauth) {
    // OAuth: no credentials here; the bank's own page asks for them.
    form.dataset.oauth = "true";
    $("credential-fields").replaceChildren(
      el("p", { class: "muted" }, "You sign in on your bank's own page."),
    );
    $("connect-button").textContent = "Continue to your bank";
  } else {
    delete form.dataset.oauth;
    const { credentials } = await api.credentialFields(institution.code);
    $("credential-fields").replaceChildren(
      ...credentials.map((field) =>
        el(
          "label",
          {},
          `${field.label ?? field.field_name} `,
          el("input", {
            name: field.guid,
            "data-field": field.field_name ?? "",
            type: field.field_type === "PASSWORD" ? "password" : "text",
            autocomplete: "off",
          }),
        ),
      ),
    );
    $("connect-button").textContent = "Connect";
  }
  form.hidden = false;
}

$("credentials-form").addEventListener(
  "submit",
  action(async (event) => {
    event.preventDefault();
    const form = $("credentials-form");
    const institution_code = form.dataset.code;
    if (form.dataset.oauth) {
      const { member } = await api.createMember({
        institution_code,
        is_oauth: true,
        redirect_url: OAUTH_RETURN_URL,
      });
      openBank(member);
    } else {
      const credentials = [...form.querySelectorAll("input")].map((input) => ({
        guid: input.name,
        value: input.value,
      }));
      const { member } = await api.createMember({ institution_code, credentials });
      form.reset();
      watch(member.guid);
    }
    form.hidden = true;
    await refreshMembers();
  }),
);

/** Opens the bank's OAuth page in a new window; it comes back to this page, which tells us (below). */
function openBank(member) {
  if (!member.oauth_window_uri) throw new Error("The API did not return the bank's page (oauth_window_uri).");
  window.open(member.oauth_window_uri, "mx-connect-oauth", "popup,width=520,height=640");
  $("oauth-waiting").hidden = false;
  watch(member.guid);
}

// Back from the bank in the OAuth window: tell the app's window, then close (a browser may refuse to close
// it: then it says so). Opened without the marker, this page goes on watching the member itself.
function oauthReturn() {
  const status = params.get("status");
  const guid = params.get("member_guid");
  if (!status) return undefined;
  const outcome = { status, member_guid: guid, error_reason: params.get("error_reason") };
  history.replaceState(null, "", RETURN_URL);
  if (params.get("oauth_window") === "1") {
    oauthChannel.postMessage(outcome);
    document.body.replaceChildren(el("p", { id: "oauth-done" }, "Done: you can close this window."));
    window.close();
    return "handled";
  }
  oauthEnded(outcome);
  return guid ?? undefined;
}

function oauthEnded(outcome) {
  $("oauth-waiting").hidden = true;
  // "received" is only a hint that the user came back: the member's sync status says whether it connected.
  if (outcome.status === "error") {
    // MX's DENIED on the OAuth redirect is the user saying no at the bank's consent page, not the bank.
    const said =
      outcome.error_reason === "DENIED"
        ? "You declined to share your accounts at the bank"
        : "The bank did not connect";
    showError(new Error(`${said} (${outcome.error_reason ?? "error"}).`));
  }
}

oauthChannel.addEventListener("message", (event) => {
  oauthEnded(event.data);
  if (event.data.member_guid && api) watch(event.data.member_guid);
});

// ---- the sync, live ------------------------------------------------------------------------------

let pollTimer;
function watch(guid) {
  watching = guid;
  $("progress").hidden = false;
  clearTimeout(pollTimer);
  poll();
}

const poll = action(
  async () => {
    const guid = watching;
    const { member } = await api.getMember(guid);
    if (guid !== watching) return;
    // The list shows the same status: refresh it when the status moves on.
    if ($("sync-status").textContent !== member.sync.status) action(refreshMembers, { background: true })();
    showStatus(member);
    if (member.challenges_waiting && $("mfa-form").dataset.member !== guid) {
      await showChallenges(guid);
    }
    if (ENDED.has(member.sync.status)) {
      $("oauth-waiting").hidden = true;
      await refreshMembers();
      return;
    }
    pollTimer = setTimeout(poll, POLL_MS);
  },
  { background: true },
);

function showStatus(member) {
  const status = $("sync-status");
  status.textContent = member.sync.status;
  status.className = `status-${member.sync.status}`;
  const counts = member.sync.counts;
  $("sync-reason").textContent =
    member.sync.reason ??
    (counts
      ? `${counts.accounts} accounts, ${counts.transactions} transactions`
      : (member.connection_status ?? ""));
}

// One prompt per challenge, shaped by its type: TEXT and TOKEN type an answer, OPTIONS and IMAGE_OPTIONS
// pick one value, IMAGE_DATA types what the picture shows. Several rounds come one after another.
async function showChallenges(guid) {
  const { challenges } = await api.challenges(guid);
  if (challenges.length === 0) return;
  const form = $("mfa-form");
  form.dataset.member = guid;
  $("mfa-prompts").replaceChildren(...challenges.map(prompt));
  form.hidden = false;
  form.querySelector("input")?.focus();
}

function prompt(challenge) {
  const label = challenge.label ?? challenge.field_name ?? "Answer";
  const name = challenge.guid;
  switch (challenge.type) {
    case "OPTIONS":
      return choices(challenge.type, label, name, challenge.options, (option) => [
        ` ${option.label ?? option.value}`,
      ]);
    case "IMAGE_OPTIONS":
      return choices(challenge.type, label, name, challenge.image_options, (option) => [
        " ",
        option.data_uri?.startsWith("data:image/")
          ? el("img", { src: option.data_uri, alt: option.label ?? "" })
          : undefined,
        ` ${option.label ?? ""}`,
      ]);
    default:
      // TEXT, TOKEN, IMAGE_DATA, or a type MX adds later: show the label and take typed text.
      return el(
        "label",
        { "data-type": challenge.type ?? "TEXT" },
        challenge.image_data?.startsWith("data:image/")
          ? el("img", { class: "challenge-image", src: challenge.image_data, alt: "" })
          : undefined,
        ` ${label} `,
        el("input", { name, type: "text", autocomplete: "one-time-code", required: true }),
      );
  }
}

/** One radio button per option (the first chosen), each labelled as `caption(option)` says. */
function choices(type, label, name, options, caption) {
  return el(
    "fieldset",
    { "data-type": type },
    el("legend", {}, label),
    ...(options ?? []).map((option, index) =>
      el(
        "label",
        type === "IMAGE_OPTIONS" ? { class: "image-option" } : {},
        el("input", { type: "radio", name, value: option.value ?? "", required: true, checked: index === 0 }),
        ...caption(option),
      ),
    ),
  );
}

$("mfa-form").addEventListener(
  "submit",
  action(async (event) => {
    event.preventDefault();
    const form = $("mfa-form");
    const data = new FormData(form);
    const answers = [...new Set([...form.querySelectorAll("input")].map((input) => input.name))].map(
      (guid) => ({
        guid,
        value: String(data.get(guid) ?? ""),
      }),
    );
    await api.answerChallenges(form.dataset.member, answers);
    form.hidden = true;
    delete form.dataset.member;
    clearTimeout(pollTimer);
    poll();
  }),
);

// ---- members, history, accounts, transactions -----------------------------------------------------

async function refreshMembers() {
  const { members } = await api.listMembers();
  $("members").tBodies[0].replaceChildren(
    ...members.map((member) => {
      const counts = member.sync.counts;
      const needsUser = member.needs_user_action;
      // DELETE answered 202: the member's rows are being purged; nothing may be done with it any more.
      if (member.deleting) {
        return el(
          "tr",
          { "data-member": member.guid, class: "deleting" },
          el("td", {}, member.institution_code),
          el("td", { class: "muted" }, "Deleting…"),
          el("td", {}, "–"),
          el("td", {}),
        );
      }
      return el(
        "tr",
        { "data-member": member.guid },
        el(
          "td",
          {},
          member.institution_code,
          member.is_oauth ? el("span", { class: "badge" }, "OAuth") : undefined,
        ),
        el(
          "td",
          { class: `status-${member.sync.status}` },
          member.sync.status,
          member.sync.reason ? el("div", { class: "muted" }, member.sync.reason) : undefined,
        ),
        el("td", {}, counts ? `${counts.accounts} accounts, ${counts.transactions} transactions` : "–"),
        el(
          "td",
          {},
          el("button", { type: "button", class: "accounts", onclick: action(showAccounts) }, "Accounts"),
          el(
            "button",
            { type: "button", class: "history", onclick: action(() => showHistory(member)) },
            "History",
          ),
          el("button", { type: "button", class: "sync", onclick: action(() => syncNow(member)) }, "Sync now"),
          needsUser
            ? el(
                "button",
                { type: "button", class: "reconnect", onclick: action(() => reconnect(member)) },
                "Reconnect",
              )
            : undefined,
          el("button", { type: "button", class: "delete", onclick: action(() => remove(member)) }, "Delete"),
        ),
      );
    }),
  );
}

async function syncNow(member) {
  await api.syncMember(member.guid);
  watch(member.guid);
}

// A member that needs the user: OAuth members go back to the bank's page; credential members send the
// credentials again (the user changed their password at the bank, say).
async function reconnect(member) {
  if (member.is_oauth) {
    // A fresh bank window; the bank returns to the redirect_url given when the member was created.
    const reply = await api.reconnectMember(member.guid, {});
    openBank(reply.member);
    return;
  }
  const { credentials } = await api.credentialFields(member.institution_code);
  const answers = [];
  for (const field of credentials) {
    const value = window.prompt(`${member.institution_code}: ${field.label ?? field.field_name}`);
    if (value === null) return;
    answers.push({ guid: field.guid, value });
  }
  await api.reconnectMember(member.guid, { credentials: answers });
  watch(member.guid);
  await refreshMembers();
}

async function remove(member) {
  if (!window.confirm(`Delete ${member.institution_code} and all its data?`)) return;
  // 202: deleted at MX, its stored rows purged in the background; the member reads as deleting until
  // GET answers 404. A failed DELETE is safe to repeat.
  await api.deleteMember(member.guid);
  if (watching === member.guid) $("progress").hidden = true;
  await refreshMembers();
  for (let poll = 0; poll < 240; poll++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      await api.getMember(member.guid);
    } catch (error) {
      if (error.status === 404) break;
      throw error;
    }
  }
  await refreshMembers();
}

async function showHistory(member) {
  const { syncs } = await api.syncHistory(member.guid);
  $("history-member").textContent = member.institution_code;
  $("history").tBodies[0].replaceChildren(
    ...syncs.map((run) =>
      el(
        "tr",
        {},
        el("td", {}, run.trigger),
        el("td", {}, run.started_at),
        el(
          "td",
          { class: `status-${run.outcome}` },
          run.outcome,
          run.reason ? el("div", { class: "muted" }, run.reason) : undefined,
        ),
        el("td", {}, `${run.rows_written} / ${run.rows_removed}`),
      ),
    ),
  );
  $("history-section").hidden = false;
}

async function showAccounts() {
  const { accounts } = await api.accounts();
  $("accounts").replaceChildren(
    ...accounts.map((account) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", "data-account": account.guid, onclick: action(() => showTransactions(account)) },
          `${account.name ?? account.guid}`,
        ),
        ` ${account.type ?? ""} ${account.balance ?? ""} ${account.currency_code ?? ""}`,
      ),
    ),
  );
  $("accounts-section").hidden = false;
}

let nextCursor;
async function showTransactions(account, cursor) {
  const page = await api.transactions(account.guid, cursor);
  const body = $("transactions").tBodies[0];
  if (!cursor) body.replaceChildren();
  $("transactions-account").textContent = account.name ?? account.guid;
  body.append(
    ...page.transactions.map((t) =>
      el(
        "tr",
        {},
        el("td", {}, t.date ?? ""),
        el("td", {}, t.description ?? ""),
        el("td", { class: "amount" }, t.amount === null ? "" : t.amount.toFixed(2)),
        el("td", {}, t.status ?? ""),
      ),
    ),
  );
  nextCursor = page.next_cursor;
  const more = $("more-transactions");
  more.hidden = !nextCursor;
  more.onclick = action(() => showTransactions(account, nextCursor));
  $("transactions-section").hidden = false;
}

// ---- start ---------------------------------------------------------------------------------------

const returned = oauthReturn();
if (returned !== "handled") {
  const saved = JSON.parse(sessionStorage.getItem("mx-connect") ?? "null");
  if (saved?.token) {
    signedIn(saved.user, saved.token);
    action(refreshMembers)();
    if (returned) watch(returned);
  }
}

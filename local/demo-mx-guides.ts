// `npm run demo:mx-guides`: walks MX's two guides through the MX client and prints each step.
// (1) Account owners: user → institution → credential fields → credential member (MFA) → identify →
//     poll → answer MFA → poll → owners. (2) OAuth: OAuth member → open the OAuth window → authorize
//     like a browser → poll → accounts → transactions page by page.
// Against the in-process sandbox by default; with MX_BASE_URL + MX_CLIENT_ID + MX_API_KEY set, it
// talks to that MX on purpose (and polls every 3 s, MX's floor). Never prints a secret.
import "./polyfills";
import { randomUUID } from "node:crypto";
import * as z from "zod";
import { connectionPhase } from "../shared/domain/connection";
import { createMxClient, type MxClient } from "../shared/mx/client";
import { iteratePages } from "../shared/mx/pages";
import type { MemberStatus } from "../shared/mx/schemas";
import { startSandbox } from "./sandbox";

const REAL_MX_POLL_MS = 3_000;
const SANDBOX_POLL_MS = 250;
const POLL_LIMIT_MS = 5 * 60_000;
const CLIENT_REDIRECT_URL = "https://app.example.com/mx/oauth-done";

const envSchema = z.object({
  MX_BASE_URL: z.url().optional(),
  MX_CLIENT_ID: z.string().min(1).optional(),
  MX_API_KEY: z.string().min(1).optional(),
});

interface Target {
  label: string;
  baseUrl: string;
  credentials: { clientId: string; apiKey: string };
  pollIntervalMs: number;
  isSandbox: boolean;
  close: () => Promise<void>;
}

/** Real MX when all three variables are set, the sandbox when none is; anything in between is a mistake. */
async function openTarget(env: NodeJS.ProcessEnv): Promise<Target> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid MX settings: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  const { MX_BASE_URL, MX_CLIENT_ID, MX_API_KEY } = parsed.data;
  const set = [MX_BASE_URL, MX_CLIENT_ID, MX_API_KEY].filter((v) => v !== undefined).length;
  if (MX_BASE_URL && MX_CLIENT_ID && MX_API_KEY) {
    return {
      label: `MX at ${MX_BASE_URL}`,
      baseUrl: MX_BASE_URL,
      credentials: { clientId: MX_CLIENT_ID, apiKey: MX_API_KEY },
      pollIntervalMs: REAL_MX_POLL_MS,
      isSandbox: false,
      close: async () => {},
    };
  }
  if (set > 0)
    throw new Error("Set all of MX_BASE_URL, MX_CLIENT_ID and MX_API_KEY to use real MX, or none.");
  const sandbox = await startSandbox({
    port: 0,
    knobs: { aggregationMs: 300, accountsPerMember: 2, transactionsPerAccount: 2500 },
  });
  return {
    label: `the MX sandbox at ${sandbox.url}`,
    baseUrl: sandbox.url,
    credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    pollIntervalMs: SANDBOX_POLL_MS,
    isSandbox: true,
    close: () => sandbox.close(),
  };
}

// ---- printing -------------------------------------------------------------------------------
let stepNumber = 0;
function step(title: string, ...details: string[]): void {
  stepNumber += 1;
  console.log(`\n${String(stepNumber).padStart(2)}. ${title}`);
  for (const line of details) console.log(`    ${line}`);
}
const note = (line: string) => console.log(`    ${line}`);
const statusLine = (s: MemberStatus) =>
  `${s.connection_status ?? "?"}${s.is_being_aggregated ? " (aggregating)" : ""}`;

// ---- polling --------------------------------------------------------------------------------
/**
 * Reads `…/status` until the member leaves the "still working" states: returns the status that
 * ended the wait (CONNECTED and not aggregating, CHALLENGED, or an end that needs the user).
 */
async function pollUntilSettled(
  mx: MxClient,
  userGuid: string,
  memberGuid: string,
  intervalMs: number,
): Promise<MemberStatus> {
  const startedAt = Date.now();
  let last = "";
  for (;;) {
    const status = await mx.readMemberStatus(userGuid, memberGuid);
    const line = statusLine(status);
    if (line !== last) note(`status: ${line}`);
    last = line;
    if (connectionPhase(status) !== "AGGREGATING") return status;
    if (Date.now() - startedAt > POLL_LIMIT_MS)
      throw new Error(`Member still ${line} after ${POLL_LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---- guide 1: account owner data ----------------------------------------------------------
async function accountOwnerGuide(mx: MxClient, pollIntervalMs: number): Promise<void> {
  console.log("\n=== Guide 1: fetch account owner data (credential member with MFA) ===");
  const user = await mx.createUser({ id: `demo-user-${randomUUID()}`, metadata: "mx-connect demo" });
  step("Create a user", `user ${user.guid} (our id ${user.id})`);

  const found = await mx.searchInstitutions({ name: "MX Bank", supportsAccountIdentification: true });
  step(
    'Search institutions for "MX Bank"',
    ...found.items.map((i) => `${i.code}: ${i.name} (${i.supports_oauth ? "OAuth" : "credentials"})`),
  );
  const institution = found.items.find((i) => i.code === "mxbank");
  if (!institution) throw new Error("mxbank was not in the search results");

  const fields = await mx.listCredentialFields(institution.code);
  step(
    `Read ${institution.code}'s credential fields`,
    ...fields.map((f) => `${f.label} (${f.field_type}) → ${f.guid}`),
  );
  const fieldGuid = (type: string) => {
    const field = fields.find((f) => f.field_type === type);
    if (!field) throw new Error(`${institution.code} has no ${type} field`);
    return field.guid;
  };

  // Test credentials for MX's test bank: the password "challenge" asks a text MFA question.
  const member = await mx.createMember(user.guid, {
    institutionCode: institution.code,
    credentials: [
      { guid: fieldGuid("LOGIN"), value: "mxuser" },
      { guid: fieldGuid("PASSWORD"), value: "challenge" },
    ],
    id: `demo-member-${randomUUID()}`,
    skipAggregation: true,
  });
  step("Create a credential member (username mxuser, MFA password)", `member ${member.guid}`);

  const identifying = await mx.identifyMember(user.guid, member.guid);
  step("Start identification (identify)", `member is ${identifying.connection_status ?? "?"}`);

  step(`Poll the member's status (every ${pollIntervalMs} ms)`);
  let status = await pollUntilSettled(mx, user.guid, member.guid, pollIntervalMs);
  for (let round = 1; connectionPhase(status) === "CHALLENGED"; round++) {
    if (round > 3) throw new Error("Still CHALLENGED after 3 answers");
    const challenges = await mx.listChallenges(user.guid, member.guid);
    step(
      "Answer the MFA challenge",
      ...challenges.map((c) => `${c.type ?? "?"}: "${c.label ?? ""}" → answered`),
    );
    await mx.resumeMember(
      user.guid,
      member.guid,
      challenges.map((c) => ({ guid: c.guid, value: "correct" })),
    );
    step("Poll again");
    status = await pollUntilSettled(mx, user.guid, member.guid, pollIntervalMs);
  }
  if (connectionPhase(status) !== "CONNECTED") throw new Error(`Member ended ${statusLine(status)}`);

  const owners = await mx.listAccountOwners(user.guid, member.guid);
  step(
    "List account owners",
    ...owners.items.map(
      (o) => `${o.owner_name ?? "?"}, ${o.city ?? "?"} ${o.state ?? ""} (account ${o.account_guid})`,
    ),
  );
}

// ---- guide 2: OAuth ------------------------------------------------------------------------
/** What the user's browser does in the sandbox: open the window, click "Authorize", stop at the redirect. */
async function authorizeLikeABrowser(windowUri: string): Promise<void> {
  const windowPage = await fetch(windowUri);
  const html = await windowPage.text();
  const authorize = /id="authorize"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="authorize"/.exec(html);
  const href = authorize?.[1] ?? authorize?.[2];
  if (!href) throw new Error("The OAuth window has no Authorize link");
  step("Open the OAuth window in a browser", `${windowPage.status} ${new URL(windowUri).origin}/…`);
  const decision = await fetch(new URL(href.replaceAll("&amp;", "&"), windowUri), { redirect: "manual" });
  const location = decision.headers.get("location");
  if (!location) throw new Error(`Authorize answered ${decision.status} without a redirect`);
  const redirect = new URL(location);
  step(
    'Click "Authorize": MX redirects the browser to our client_redirect_url',
    `${decision.status} → ${redirect.origin}${redirect.pathname}`,
    ...[...redirect.searchParams].map(([key, value]) => `${key} = ${value}`),
  );
}

async function oauthGuide(mx: MxClient, target: Target): Promise<void> {
  const { pollIntervalMs } = target;
  console.log("\n=== Guide 2: OAuth member, accounts and transactions ===");
  const user = await mx.createUser({ id: `demo-user-${randomUUID()}` });
  step("Create a user", `user ${user.guid}`);

  const member = await mx.createMember(user.guid, {
    institutionCode: "mx_bank_oauth",
    isOauth: true,
    id: `demo-oauth-member-${randomUUID()}`,
    clientRedirectUrl: CLIENT_REDIRECT_URL,
    referralSource: "APP",
  });
  step(
    "Create an OAuth member on mx_bank_oauth",
    `member ${member.guid}, ${member.connection_status ?? "?"}`,
  );
  if (!member.oauth_window_uri) throw new Error("MX returned no oauth_window_uri");

  if (target.isSandbox) {
    await authorizeLikeABrowser(member.oauth_window_uri);
  } else {
    // Real MX: the bank's sign-in page needs a person. The URI is single-use and meant for the user.
    step("Open this single-use URL in your browser and authorize", member.oauth_window_uri);
  }

  step(`Poll the member's status (every ${pollIntervalMs} ms)`);
  const status = await pollUntilSettled(mx, user.guid, member.guid, pollIntervalMs);
  if (connectionPhase(status) !== "CONNECTED") throw new Error(`Member ended ${statusLine(status)}`);

  const accounts = await mx.listAccounts(user.guid, member.guid);
  step(
    "List accounts",
    ...accounts.items.map(
      (a) => `${a.name ?? "?"} (${a.type ?? "?"}): ${a.balance ?? "?"} ${a.currency_code ?? ""}`,
    ),
  );

  step("List transactions, page by page (1000 a page)");
  let read = 0;
  const fromDate = new Date(Date.now() - 730 * 86_400_000).toISOString().slice(0, 10);
  for await (const page of iteratePages((p) =>
    mx.listTransactions(user.guid, member.guid, { page: p, fromDate }),
  )) {
    read += page.items.length;
    const { current_page, total_pages, total_entries } = page.pagination;
    note(`page ${current_page}/${total_pages}: ${page.items.length} transactions (${read}/${total_entries})`);
  }
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const target = await openTarget(process.env);
  console.log(`MX demo against ${target.label}`);
  try {
    const mx = createMxClient({ baseUrl: target.baseUrl, credentials: target.credentials });
    await accountOwnerGuide(mx, target.pollIntervalMs);
    await oauthGuide(mx, target);
    console.log(`\nDone in ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`);
  } finally {
    await target.close();
  }
}

main().catch((error: unknown) => {
  // Our MX errors carry only method, path and status in their message: safe to print.
  console.error(
    `\nDemo failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
  );
  process.exitCode = 1;
});

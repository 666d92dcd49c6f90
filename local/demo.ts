// `npm run demo`: a client app's whole job, through the Connect API's HTTP routes only. It starts the local
// back end (`startAll`: the MX sandbox, dynalite, the synthesized sync workflow and the API), takes a
// development token for a demo user, then searches institutions, connects four members (credentials, MFA,
// OAuth, refused credentials), follows each sync through GET /v1/members/{guid} and reads the stored data
// back, checking it against each sync's counts, and builds a copy from the changes feed. Then a day passes on
// the sandbox's clock: MX's background aggregation, its webhooks and the queued background refresh; the demo
// prints each synced member's new sync-history run, its events and the feed's changes from the saved cursor,
// and checks the copy against the list routes again. Any outcome other than the expected one exits non-zero, so
// the demo doubles as a smoke check. It never prints credentials, MFA answers, tokens or OAuth states.
// With MX_BASE_URL, MX_CLIENT_ID and MX_API_KEY set, the stack talks to that MX (local/stack.ts): the demo
// then prints the OAuth window for a person to open, polls at real-world speed and skips the day (MX's clock
// cannot be moved).
import "./polyfills";

import { randomUUID } from "node:crypto";
import type { MemberView } from "../shared/api/schemas";
import type { SyncStatus } from "../shared/domain/connection";
import { DEFAULT_MAX_CHALLENGE_ROUNDS } from "../shared/domain/sync";
import { appEventSchema } from "../shared/events/schemas";
import {
  ApiCallError,
  type ChallengePrompt,
  type ConnectClient,
  createConnectClient,
  decideAtBank,
  OauthWalkError,
  promptWaiting,
  type SyncRun,
  syncEnded,
  type TransactionChangesPage,
  WaitError,
} from "./client";
import { LOCAL_EXAMPLE_APP_URL, type RunningAll, startAll } from "./start";

/** The sandbox's test login for mxbank: the password picks the outcome (MX's integrations bank does the same). */
const TEST_USERNAME = "mxuser";
const PASSWORD_CONNECTS = "password";
/** The sandbox's `multi`: two rounds, as banks often ask (pick where to send a code, then type it). */
const PASSWORD_ASKS_MFA_ROUNDS = "multi";
/** MX's own test bank asks one TEXT question for this one (no multi-round password documented there). */
const PASSWORD_ASKS_MFA = "challenge";
const PASSWORD_REFUSED = "INVALID";
const MFA_ANSWER = "correct";
/** Where the OAuth callback sends the browser back: on startAll's default redirect allow-list. */
const APP_REDIRECT_URL = LOCAL_EXAMPLE_APP_URL;
/** The largest page GET /v1/accounts/{guid}/transactions serves. */
const TRANSACTIONS_PAGE = 500;

interface Pace {
  pollMs: number;
  limitMs: number;
}
/** The sandbox aggregates in 150 ms and the workflow's waits are scaled down: a whole sync takes well under 1 s. */
const SANDBOX_PACE: Pace = { pollMs: 50, limitMs: 30_000 };
/** Real MX: a person signs in at the bank for OAuth, and aggregations take seconds to minutes. */
const REAL_MX_PACE: Pace = { pollMs: 3_000, limitMs: 10 * 60_000 };
const MX_VARIABLES = ["MX_BASE_URL", "MX_CLIENT_ID", "MX_API_KEY"] as const;

/** A failure the demo explains in one line (no stack: it is a message for the person running it). */
class DemoError extends Error {
  override name = "DemoError";
}

/** The client's own failures read as the demo's: one line, no stack. */
const explain = (error: unknown): string =>
  error instanceof DemoError ||
  error instanceof ApiCallError ||
  error instanceof WaitError ||
  error instanceof OauthWalkError
    ? error.message
    : String(error);

// ---- printing -----------------------------------------------------------------------------------
let stepNumber = 0;
function step(title: string, ...details: string[]): void {
  stepNumber += 1;
  console.log(`\n${String(stepNumber).padStart(2)}. ${title}`);
  for (const line of details) note(line);
}
function note(line: string): void {
  console.log(`    ${line}`);
}

/**
 * A URL as it may be shown: opaque path segments (OAuth states, single-use page tokens) elided, only the
 * parameters MX adds to a redirect kept (guids shortened), and this API's own origin left out.
 */
function showUrl(href: string, apiUrl: string): string {
  const url = new URL(href);
  const path = url.pathname
    .split("/")
    .map((segment) => (segment.length >= 16 && !/^[A-Z]{3}-/.test(segment) ? "…" : segment))
    .join("/");
  const query = [...url.searchParams]
    .map(([key, value]) => {
      if (!["status", "member_guid", "error_reason"].includes(key)) return `${key}=…`;
      return `${key}=${value.length > 16 ? `${value.slice(0, 12)}…` : value}`;
    })
    .join("&");
  return `${url.origin === apiUrl ? "" : url.origin}${path}${query ? `?${query}` : ""}`;
}

// ---- following a sync -----------------------------------------------------------------------------
/**
 * Polls GET /v1/members/{guid} until `done` holds, printing each new sync status on one line as it
 * appears (live: against real MX a sync takes a while).
 */
async function follow(
  api: ConnectClient,
  guid: string,
  pace: Pace,
  done: (member: MemberView) => boolean = syncEnded,
): Promise<MemberView> {
  let last = "";
  process.stdout.write("    sync:");
  try {
    return await api.waitForMember(guid, done, {
      pollMs: pace.pollMs,
      timeoutMs: pace.limitMs,
      onSeen: (member) => {
        const seen = member.challenges_waiting
          ? `${member.sync.status} (prompt waiting)`
          : member.sync.status;
        if (seen !== last) process.stdout.write(`${last ? " →" : ""} ${seen}`);
        last = seen;
      },
    });
  } finally {
    process.stdout.write("\n");
  }
}

// ---- the four members ------------------------------------------------------------------------------
type Counts = { owners: number; accounts: number; transactions: number };

interface Scenario {
  label: string;
  institution: string;
  expected: SyncStatus;
  member?: MemberView;
  readBack?: Counts;
  problems: string[];
}

interface Demo {
  api: ConnectClient;
  pace: Pace;
  realMx: boolean;
  apiUrl: string;
  credentialGuids: { login: string; password: string };
}

/** mxbank's fields filled in; the values go in the request body and nowhere else. */
const credentialsFor = (demo: Demo, password: string) => [
  { guid: demo.credentialGuids.login, value: TEST_USERNAME },
  { guid: demo.credentialGuids.password, value: password },
];

async function createCredentialMember(demo: Demo, password: string, identify: boolean): Promise<MemberView> {
  const member = await demo.api.createMember({
    institution_code: "mxbank",
    credentials: credentialsFor(demo, password),
    identify,
  });
  note(`POST /v1/members → 202, member ${member.guid}, sync ${member.sync.status}`);
  return member;
}

async function connectWithCredentials(demo: Demo): Promise<MemberView> {
  step(
    "Connect mxbank with the user's credentials (identify: true, for the account owners)",
    "(credentials go to the API once; they are never stored, logged or shown)",
  );
  const member = await createCredentialMember(demo, PASSWORD_CONNECTS, true);
  note(`polling GET /v1/members/${member.guid}`);
  return follow(demo.api, member.guid, demo.pace);
}

/** The prompt as the app would show it; the choices by their labels (their values are the answers). */
function describePrompt(prompt: ChallengePrompt): string[] {
  const choices = prompt.options ?? prompt.image_options ?? [];
  return [
    `${prompt.type ?? "?"}: "${prompt.label ?? ""}"`,
    ...choices.map((choice, i) => `  choice ${i + 1}: ${choice.label ?? "(no label)"}`),
  ];
}

/** The user's answer: the first choice of an OPTIONS or IMAGE_OPTIONS prompt (the sandbox's right one), else typed. */
function answerFor(prompt: ChallengePrompt): string {
  const choices = prompt.options ?? prompt.image_options ?? [];
  return choices.find((choice) => choice.value)?.value ?? MFA_ANSWER;
}

async function connectWithMfa(demo: Demo): Promise<MemberView> {
  step("Connect mxbank with credentials that make the bank ask security questions, in several rounds");
  const password = demo.realMx ? PASSWORD_ASKS_MFA : PASSWORD_ASKS_MFA_ROUNDS;
  const member = await createCredentialMember(demo, password, false);
  let seen = await follow(demo.api, member.guid, demo.pace, promptWaiting);
  if (!seen.challenges_waiting) {
    throw new DemoError(`expected an MFA prompt, the sync ended ${seen.sync.status}`);
  }
  // A bank may ask more than once, each round with new guids: answer each prompt as it comes.
  let round = 1;
  for (; seen.challenges_waiting; round++) {
    if (round > DEFAULT_MAX_CHALLENGE_ROUNDS)
      throw new DemoError("the bank was still asking after every round");
    const challenges = await demo.api.challenges(member.guid);
    step(
      `MFA round ${round}: show the user the bank's question (GET …/challenges)`,
      ...challenges.flatMap(describePrompt),
    );
    if (challenges.length === 0) throw new DemoError("an MFA prompt is waiting but none is listed");

    const answers = challenges.map((c) => ({ guid: c.guid, value: answerFor(c) }));
    const answered = await demo.api.answerChallenges(member.guid, answers);
    step(
      `MFA round ${round}: send the user's answer (POST …/challenges; the answer is not shown)`,
      `→ 202, sync ${answered.sync.status}`,
    );
    seen = await follow(demo.api, member.guid, demo.pace, promptWaiting);
  }
  note(`answered ${round - 1} MFA round${round === 2 ? "" : "s"}`);
  return seen;
}

/** The browser's part, against the sandbox: open the bank's page, click Authorize, follow each redirect. */
async function authorizeLikeABrowser(demo: Demo, windowUri: string): Promise<void> {
  step("Open oauth_window_uri and click Authorize, as the user's browser would");
  const hop = (n: number, where: string, url: string, status: number | string) =>
    note(`${n}. ${where.padEnd(8)} ${showUrl(url, demo.apiUrl)} → ${status}`);
  const atBankSays = ["(sign-in page)", "(Authorize clicked)"];

  let hops = 0;
  const { click } = await decideAtBank(windowUri, "authorize", (seen) => {
    hops += 1;
    hop(hops, "bank", seen.url, `${seen.status} ${atBankSays[hops - 1] ?? ""}`.trimEnd());
  });
  const toCallback = click.location ?? "";
  if (!toCallback.startsWith(`${demo.apiUrl}/v1/oauth/callback/`)) {
    throw new DemoError(`the bank should redirect to this API's callback, answered ${click.status}`);
  }

  const callback = await fetch(toCallback, { redirect: "manual" });
  const toApp = callback.headers.get("location") ?? "";
  hop(3, "our API", toCallback, `${callback.status} (the sync starts)`);
  if (callback.status !== 302 || !toApp.startsWith(APP_REDIRECT_URL)) {
    throw new DemoError(`the callback should redirect to the app, answered ${callback.status}`);
  }
  // Nothing listens at the example app's URL: its address is what the app would read.
  note(`4. ${"the app".padEnd(8)} ${showUrl(toApp, demo.apiUrl)}`);
}

async function connectWithOauth(demo: Demo): Promise<MemberView> {
  step(`Connect mx_bank_oauth through the bank's OAuth page (redirect_url ${APP_REDIRECT_URL})`);
  const member = await demo.api.createMember({
    institution_code: "mx_bank_oauth",
    is_oauth: true,
    redirect_url: APP_REDIRECT_URL,
    identify: true,
  });
  note(`POST /v1/members → 202, member ${member.guid}, sync ${member.sync.status}`);
  if (!member.oauth_window_uri) throw new DemoError("the OAuth member came back without oauth_window_uri");

  if (demo.realMx) {
    step(
      "Open this single-use URL in your browser and authorize (the demo waits):",
      member.oauth_window_uri,
      `(afterwards the browser lands on ${APP_REDIRECT_URL}: nothing listens there, that is fine)`,
    );
  } else {
    await authorizeLikeABrowser(demo, member.oauth_window_uri);
  }
  note(`polling GET /v1/members/${member.guid}`);
  return follow(demo.api, member.guid, demo.pace);
}

async function connectRefused(demo: Demo): Promise<MemberView> {
  step("Connect mxbank with credentials the bank refuses");
  const member = await createCredentialMember(demo, PASSWORD_REFUSED, false);
  const done = await follow(demo.api, member.guid, demo.pace);
  if (done.sync.reason) note(`reason for the user: "${done.sync.reason}"`);
  return done;
}

// ---- reading the data back ---------------------------------------------------------------------------
async function readBack(demo: Demo, scenario: Scenario, guid: string): Promise<Counts> {
  const account_owners = await demo.api.owners(guid);
  const accounts = await demo.api.accounts();
  const own = accounts.filter((a) => a.member_guid === guid);
  note(`${scenario.label} (${guid}): ${account_owners.length} owners, ${own.length} accounts`);

  let transactions = 0;
  for (const account of own) {
    let rows = 0;
    let pages = 0;
    for await (const page of demo.api.transactionPages(account.guid, { limit: TRANSACTIONS_PAGE })) {
      rows += page.transactions.length;
      pages += 1;
    }
    note(
      `  ${account.name ?? account.guid} (${account.type ?? "?"}): ${rows} transactions in ${pages} pages`,
    );
    transactions += rows;
  }
  return { owners: account_owners.length, accounts: own.length, transactions };
}

function compare(scenario: Scenario, member: MemberView, read: Counts): void {
  // A sync that ended unsynced has no counts and must have stored nothing.
  const recorded: Counts = member.sync.counts ?? { owners: 0, accounts: 0, transactions: 0 };
  const kinds = ["owners", "accounts", "transactions"] as const;
  const differ = kinds.filter((kind) => recorded[kind] !== read[kind]);
  if (differ.length === 0) {
    note(`  = the sync record's counts (${kinds.map((k) => `${k} ${recorded[k]}`).join(", ")})`);
  } else {
    const detail = differ.map((k) => `${k}: read ${read[k]}, recorded ${recorded[k]}`).join("; ");
    note(`  ≠ the sync record's counts: ${detail}`);
    scenario.problems.push(`stored data differs from the sync record (${detail})`);
  }
}

// ---- the run -----------------------------------------------------------------------------------------
/** Real MX when all three variables are set, the sandbox when none is; anything in between is a mistake. */
function wantsRealMx(env: NodeJS.ProcessEnv): boolean {
  const set = MX_VARIABLES.filter((name) => env[name]);
  if (set.length === 0) return false;
  if (set.length === MX_VARIABLES.length) return true;
  throw new DemoError(
    `set all of ${MX_VARIABLES.join(", ")} to use real MX, or none (set: ${set.join(", ")})`,
  );
}

async function findCredentialGuids(api: ConnectClient): Promise<Demo["credentialGuids"]> {
  const found = await api.searchInstitutions("MX");
  step(
    "Search institutions (GET /v1/institutions?name=MX)",
    ...found.institutions
      .slice(0, 6)
      // How it connects in its own column: MX may already name the bank "… (OAuth)".
      .map(
        (i) =>
          `${i.code.padEnd(14)} ${(i.supports_oauth ? "OAuth" : "credentials").padEnd(12)} ${i.name ?? "?"}`,
      ),
    ...(found.pagination.total_entries > 6 ? [`… ${found.pagination.total_entries} in all`] : []),
  );
  for (const code of ["mxbank", "mx_bank_oauth"]) {
    if (!found.institutions.some((i) => i.code === code)) throw new DemoError(`${code} was not found`);
  }

  const credentials = await api.credentialFields("mxbank");
  step(
    "Read mxbank's credential fields (GET /v1/institutions/mxbank/credentials)",
    ...credentials.map((f) => `${f.field_name ?? "?"} "${f.label ?? ""}" → ${f.guid}`),
  );
  const guidOf = (name: string) => {
    const field = credentials.find((f) => f.field_name === name);
    if (!field) throw new DemoError(`mxbank has no ${name} field`);
    return field.guid;
  };
  return { login: guidOf("LOGIN"), password: guidOf("PASSWORD") };
}

function printSummary(scenarios: Scenario[]): void {
  const row = (cells: string[]) =>
    cells.map((cell, i) =>
      i >= 3 && i <= 5 ? cell.padStart(COLUMNS[i] ?? 0) : cell.padEnd(COLUMNS[i] ?? 0),
    );
  step("Summary");
  note(row(["member", "institution", "outcome", "owners", "accounts", "transactions", "check"]).join("  "));
  for (const s of scenarios) {
    const counts = s.readBack;
    const number = (n: number | undefined) => (n === undefined ? "-" : String(n));
    note(
      row([
        s.label,
        s.institution,
        s.member?.sync.status ?? "-",
        number(counts?.owners),
        number(counts?.accounts),
        number(counts?.transactions),
        s.problems.length === 0 ? "ok" : `expected ${s.expected}`,
      ])
        .join("  ")
        .trimEnd(),
    );
  }
}
const COLUMNS = [11, 13, 10, 6, 8, 12, 0];

async function run(app: RunningAll, realMx: boolean): Promise<Scenario[]> {
  const userId = `demo-${randomUUID().slice(0, 8)}`;
  const token = await app.issueToken(userId);
  step(
    `Sign in as "${userId}"`,
    "a bearer token from the local development issuer (not shown); every call below sends it",
  );
  const api = createConnectClient(app.apiUrl, token);
  const demo: Demo = {
    api,
    pace: realMx ? REAL_MX_PACE : SANDBOX_PACE,
    realMx,
    apiUrl: app.apiUrl,
    credentialGuids: await findCredentialGuids(api),
  };

  const scenarios: [Scenario, (demo: Demo) => Promise<MemberView>][] = [
    [
      { label: "credentials", institution: "mxbank", expected: "SYNCED", problems: [] },
      connectWithCredentials,
    ],
    [{ label: "MFA", institution: "mxbank", expected: "SYNCED", problems: [] }, connectWithMfa],
    [{ label: "OAuth", institution: "mx_bank_oauth", expected: "SYNCED", problems: [] }, connectWithOauth],
    [{ label: "refused", institution: "mxbank", expected: "NEEDS_USER", problems: [] }, connectRefused],
  ];
  for (const [scenario, connect] of scenarios) {
    try {
      scenario.member = await connect(demo);
      const { status, reason } = scenario.member.sync;
      if (status !== scenario.expected) {
        scenario.problems.push(
          `ended ${status}${reason ? ` ("${reason}")` : ""}, expected ${scenario.expected}`,
        );
      } else if (status === "NEEDS_USER" && !reason) {
        scenario.problems.push("ended NEEDS_USER without a reason for the user");
      }
    } catch (error) {
      scenario.problems.push(explain(error));
    }
  }

  step("Read each member's data back (owners, accounts, transactions paged with cursor)");
  for (const [scenario] of scenarios) {
    if (!scenario.member) continue;
    try {
      scenario.readBack = await readBack(demo, scenario, scenario.member.guid);
      compare(scenario, scenario.member, scenario.readBack);
    } catch (error) {
      scenario.problems.push(explain(error));
    }
  }
  step("Follow the transactions changes feed (GET /v1/transactions/sync) from an empty copy");
  const all = scenarios.map(([scenario]) => scenario);
  let feed: FeedCopy | undefined;
  try {
    feed = await followChanges(demo, all);
  } catch (error) {
    all[0]?.problems.push(`changes feed: ${explain(error)}`);
  }
  try {
    await aDayPasses(app, demo, all, feed);
  } catch (error) {
    all[0]?.problems.push(`a day later: ${explain(error)}`);
  }
  return all;
}

type FeedRow = TransactionChangesPage["added"][number];
/** A client app's copy of the user's transactions, by `account_guid#guid`, and where the feed left it. */
interface FeedCopy {
  rows: Map<string, FeedRow>;
  cursor: string;
}
const feedKey = (row: { account_guid?: string | null; guid: string }) => `${row.account_guid}#${row.guid}`;

/** A client app's copy built from the changes feed alone equals the transactions read back page by page. */
async function followChanges(demo: Demo, scenarios: Scenario[]): Promise<FeedCopy> {
  const copy = new Map<string, FeedRow>();
  const totals = { pages: 0, added: 0, modified: 0, removed: 0 };
  let cursor: string | undefined;
  let hasMore = true;
  while (hasMore) {
    const page = await demo.api.transactionChanges({ count: 500, ...(cursor ? { cursor } : {}) });
    for (const r of page.removed) copy.delete(feedKey(r));
    for (const t of [...page.added, ...page.modified]) copy.set(feedKey(t), t);
    totals.pages++;
    totals.added += page.added.length;
    totals.modified += page.modified.length;
    totals.removed += page.removed.length;
    cursor = page.next_cursor;
    hasMore = page.has_more;
  }
  const readBack = scenarios.reduce((sum, s) => sum + (s.readBack?.transactions ?? 0), 0);
  note(
    `${totals.pages} pages: ${totals.added} added, ${totals.modified} modified, ${totals.removed} removed → ` +
      `a copy of ${copy.size} transactions (${copy.size === readBack ? "=" : "≠"} the ${readBack} read back)`,
  );
  const again = await demo.api.transactionChanges({ cursor });
  note(
    `again with the saved cursor: ${again.added.length + again.modified.length + again.removed.length} changes`,
  );
  if (copy.size !== readBack)
    scenarios[0]?.problems.push(`the feed's copy holds ${copy.size}, not ${readBack}`);
  return { rows: copy, cursor: again.next_cursor };
}

// ---- a day later -------------------------------------------------------------------------------------
/** How long the demo waits for a late webhook (a retried delivery) before it says one is missing. */
const WEBHOOK_GRACE_MS = 10_000;

/** What a person reads for a duration in hours and minutes. */
const showHours = (ms: number) =>
  `${Math.floor(ms / 3_600_000)} h${ms % 3_600_000 ? ` ${Math.round((ms % 3_600_000) / 60_000)} min` : ""}`;

/**
 * A day passes at MX: its background aggregation of every connected member, its webhooks to this API, the
 * queued background refresh. Then, per synced member, what the app sees: the new sync-history run, the
 * events published and the changes feed from the saved cursor, applied to the copy step by step.
 */
async function aDayPasses(
  app: RunningAll,
  demo: Demo,
  scenarios: Scenario[],
  feed: FeedCopy | undefined,
): Promise<void> {
  const sandbox = app.stack.sandbox;
  if (!sandbox || demo.realMx) {
    step("A day passes: skipped, real MX's clock cannot be moved (MX aggregates about once a day by itself)");
    return;
  }
  if (!feed) throw new DemoError("no saved cursor: the changes feed failed above");
  const synced = scenarios.filter(
    (s): s is Scenario & { member: MemberView } => s.member?.sync.status === "SYNCED",
  );

  // The foreground syncs' own webhooks are handled first (they find nothing new): what follows is the day's.
  await app.stack.refresh.drain();
  const lastRun = new Map<string, string | undefined>();
  for (const s of synced)
    lastRun.set(s.member.guid, (await demo.api.syncs(s.member.guid, { limit: 1 })).syncs[0]?.run_id);
  const eventsBefore = app.stack.aws.events.published().length;

  const { backgroundAggregationIntervalMs: day, minAggregationIntervalMs } = sandbox.knobs;
  const advance = Math.max(day, minAggregationIntervalMs) + 60_000;
  step(
    `A day passes: MX's clock moves ${showHours(advance)} (past its ${showHours(minAggregationIntervalMs)} rule)`,
    "MX aggregates each connected member in the background and POSTs member_data_updated to /v1/mx/webhooks;",
    "each webhook queues a background refresh that reads only what changed",
  );
  const webhooksBefore = sandbox.webhooks().length;
  await sandbox.advanceTime(advance);
  await app.stack.refresh.drain();

  // Each member's new runs (newest first), waiting a bounded while for a webhook MX sends again later.
  const newRuns = async (guid: string): Promise<SyncRun[]> => {
    const runs = (await demo.api.syncs(guid, { limit: 10 })).syncs;
    const seen = runs.findIndex((run) => run.run_id === lastRun.get(guid));
    return seen === -1 ? runs : runs.slice(0, seen);
  };
  const runsOf = new Map<string, SyncRun[]>();
  const deadline = Date.now() + WEBHOOK_GRACE_MS;
  for (;;) {
    for (const s of synced) runsOf.set(s.member.guid, await newRuns(s.member.guid));
    if ([...runsOf.values()].every((runs) => runs.length > 0) || Date.now() > deadline) break;
    await sandbox.flushWebhooks();
    await app.stack.refresh.drain();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const delivered = sandbox
    .webhooks()
    .slice(webhooksBefore)
    .filter((w) => w.state === "delivered").length;
  note(`${delivered} webhooks from MX's background aggregations answered; the refresh queue is empty`);

  // The app's side: the feed from the saved cursor, applied to its copy (removed first, then the rest).
  const before = new Map(feed.rows);
  const changes: { added: FeedRow[]; modified: FeedRow[]; removed: TransactionChangesPage["removed"] } = {
    added: [],
    modified: [],
    removed: [],
  };
  let cursor = feed.cursor;
  for (let hasMore = true; hasMore; ) {
    const page = await demo.api.transactionChanges({ count: 500, cursor });
    for (const r of page.removed) feed.rows.delete(feedKey(r));
    for (const t of [...page.added, ...page.modified]) feed.rows.set(feedKey(t), t);
    changes.added.push(...page.added);
    changes.modified.push(...page.modified);
    changes.removed.push(...page.removed);
    cursor = page.next_cursor;
    hasMore = page.has_more;
  }
  feed.cursor = cursor;

  const events = app.stack.aws.events
    .published()
    .slice(eventsBefore)
    .map((e) => appEventSchema.safeParse({ source: e.source, "detail-type": e.detailType, detail: e.detail }))
    .flatMap((parsed) => (parsed.success ? [parsed.data] : []));
  for (const s of synced) {
    const guid = s.member.guid;
    note(`${s.label} (${guid})`);
    const runs = runsOf.get(guid) ?? [];
    for (const run of runs) {
      note(
        `  sync history: ${run.trigger} → ${run.outcome}, ${run.rows_written} rows written, ` +
          `${run.rows_removed} removed, ${run.mx_calls ?? "?"} MX calls`,
      );
    }
    if (!runs.some((run) => run.trigger === "webhook" && run.outcome === "SYNCED")) {
      note("  sync history: no background refresh recorded");
      s.problems.push("a day later: no background refresh was recorded through a webhook");
    }
    for (const event of events.filter((e) => e.detail.member_guid === guid)) {
      const detail = event.detail;
      note(
        `  event: ${event["detail-type"]}` +
          ("trigger" in detail
            ? ` (trigger ${detail.trigger}, ${detail.counts.rows_written} written, ${detail.counts.rows_removed} removed)`
            : ""),
      );
    }
    const feedLine = describeChanges(before, changes, guid);
    note(`  changes feed: ${feedLine.text}`);
    if (feedLine.total === 0) s.problems.push("a day later: the changes feed reported nothing new");
  }

  // The copy built from the feed against what the list routes serve now, row by row.
  const listed = new Set<string>();
  for (const account of await demo.api.accounts()) {
    for await (const page of demo.api.transactionPages(account.guid, { limit: TRANSACTIONS_PAGE })) {
      for (const t of page.transactions) listed.add(feedKey(t));
    }
  }
  const missing = [...listed].filter((key) => !feed.rows.has(key)).length;
  const extra = [...feed.rows.keys()].filter((key) => !listed.has(key)).length;
  const same = missing === 0 && extra === 0;
  note(
    `the app's copy: ${feed.rows.size} transactions ${same ? "=" : "≠"} the ${listed.size} the list routes serve` +
      (same ? "" : ` (${missing} missing, ${extra} extra)`),
  );
  if (!same) scenarios[0]?.problems.push(`a day later: the feed's copy differs from the list routes`);
}

/**
 * The feed's changes of one member, as the app's copy sees them: a row it did not hold is new, unless it
 * is the posted twin of a pending row removed in the same pull (MX posts a pending row under a new guid);
 * a row it held is rewritten (changed or not: the refresh rewrites its window).
 */
function describeChanges(
  before: Map<string, FeedRow>,
  changes: { added: FeedRow[]; modified: FeedRow[]; removed: TransactionChangesPage["removed"] },
  memberGuid: string,
): { text: string; total: number } {
  const upserts = [...changes.added, ...changes.modified].filter((t) => t.member_guid === memberGuid);
  const removed = changes.removed.filter((r) => r.member_guid === memberGuid);
  const fresh = upserts.filter((t) => !before.has(feedKey(t)));
  const rewritten = upserts.filter((t) => before.has(feedKey(t)));
  const changed = rewritten.filter((t) => JSON.stringify(t) !== JSON.stringify(before.get(feedKey(t))));
  const twin = (t: FeedRow) => `${t.account_guid}|${t.amount}|${t.description}`;
  const pendingGone = removed.flatMap((r) => {
    const row = before.get(feedKey(r));
    return row?.status === "PENDING" ? [twin(row)] : [];
  });
  let posted = 0;
  for (const t of fresh) {
    const at = t.status === "POSTED" ? pendingGone.indexOf(twin(t)) : -1;
    if (at === -1) continue;
    pendingGone.splice(at, 1);
    posted += 1;
  }
  const total = upserts.length + removed.length;
  const text =
    `+${fresh.length - posted} new, ${posted} posted (pending replaced), ${removed.length - posted} removed; ` +
    `${rewritten.length} rewritten (${changed.length} changed)`;
  return { text, total };
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const realMx = wantsRealMx(process.env);
  // The AWS SDK warns once per process, when its first client is built, that Node 20 support ends in 2027
  // (the README states the supported versions); in the demo's output it would read as a demo problem.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const app = await startAll({
    jwtKeyFile: null,
    log: () => {},
    stack: realMx
      ? { waitScale: 1 }
      : {
          sandbox: { aggregationMs: 150, accountsPerMember: 2, transactionsPerAccount: 2_000 },
          waitScale: 0.002,
        },
  });
  // A person may stop a real-MX run while it waits for them: close everything on the way out.
  const stop = () => {
    console.log("\nStopping…");
    void app.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", stop);
  try {
    const usingSandbox = app.stack.sandbox !== undefined;
    console.log("mx-connect demo: a client app's calls to the Connect API, over HTTP");
    console.log(`  API ${app.apiUrl}`);
    console.log(
      usingSandbox
        ? `  MX  the sandbox at ${app.stack.sandbox?.url} (offline)`
        : `  MX  ${app.stack.env.MX_BASE_URL} (real MX: MX_BASE_URL, MX_CLIENT_ID, MX_API_KEY are set)`,
    );
    const scenarios = await run(app, !usingSandbox);
    printSummary(scenarios);

    const failed = scenarios.filter((s) => s.problems.length > 0);
    if (failed.length > 0) {
      console.error("\nDemo failed:");
      for (const s of failed) for (const problem of s.problems) console.error(`  ${s.label}: ${problem}`);
      return 1;
    }
    console.log(
      `\nEvery outcome as expected; the data read back equals each sync's counts. ` +
        `Done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`,
    );
    return 0;
  } finally {
    process.off("SIGINT", stop);
    await app.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // DemoError messages are written for the reader; anything else is shown by name and message only
    // (an Error's own toString).
    const message = explain(error);
    console.error(`\nDemo failed: ${message}`);
    process.exitCode = 1;
  },
);

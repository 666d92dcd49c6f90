// A small typed client of the Connect API's public HTTP routes, as a client app uses them: the demo
// (`npm run demo`) and the end-to-end tests share it. Typed calls check the status and parse the body with
// the API's own response schemas (a mismatch throws ApiCallError, whose message never holds a token, a
// credential or a query string); raw calls return the reply as it came, for tests of refusals. The OAuth
// "browser" walk (open oauth_window_uri, click Authorize or Deny, follow MX's redirect) lives here too.
import type * as z from "zod";
import {
  accountsResponseSchema,
  type CreateMemberBody,
  challengesResponseSchema,
  createMemberResponseSchema,
  credentialsResponseSchema,
  errorResponseSchema,
  institutionsResponseSchema,
  type MemberView,
  memberResponseSchema,
  ownersResponseSchema,
  reconnectResponseSchema,
  syncRunsResponseSchema,
  transactionsResponseSchema,
  transactionsSyncResponseSchema,
} from "../shared/api/schemas";
import type { SyncStatus } from "../shared/domain/connection";

/** An answer as it came over HTTP; `body` is the parsed JSON, or undefined when the body is not JSON. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/** A typed call answered another status than expected, or a body its schema refuses. */
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A wait for a member's state that ran out of polls or time. */
export class WaitError extends Error {
  override name = "WaitError";
}

/** The OAuth page or the bank's answer to a click was not what a browser needs to go on. */
export class OauthWalkError extends Error {
  override name = "OauthWalkError";
}

export type CreatedMember = z.infer<typeof createMemberResponseSchema>["member"];
export type ChallengePrompt = z.infer<typeof challengesResponseSchema>["challenges"][number];
export type TransactionsPage = z.infer<typeof transactionsResponseSchema>;
export type TransactionChangesPage = z.infer<typeof transactionsSyncResponseSchema>;
/** One run of a member's sync history (GET /v1/members/{guid}/syncs). */
export type SyncRun = z.infer<typeof syncRunsResponseSchema>["syncs"][number];

/** The statuses a sync ends in. */
export const SYNC_ENDED: ReadonlySet<SyncStatus> = new Set<SyncStatus>([
  "SYNCED",
  "NEEDS_USER",
  "FAILED",
  "TIMED_OUT",
]);
export const syncEnded = (member: MemberView): boolean => SYNC_ENDED.has(member.sync.status);
/** An MFA prompt awaits the user's answer, or the sync ended without one. */
export const promptWaiting = (member: MemberView): boolean => member.challenges_waiting || syncEnded(member);

export interface WaitOptions {
  /** Pause between polls; default 25 ms (the embedded stack's sync takes a fraction of a second). */
  pollMs?: number;
  /** At most this many polls (default 400 when `timeoutMs` is not given): bounded without wall-clock. */
  maxPolls?: number;
  /** At most this long, for real MX where a sync takes minutes. */
  timeoutMs?: number;
  /** Called with each member read, e.g. to show statuses as they change. */
  onSeen?: (member: MemberView) => void;
}

/** Reads until `done` holds, within a poll count or a time limit; `describe` names the last read in the error. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: Omit<WaitOptions, "onSeen"> & { what: string; describe: (value: T) => string },
): Promise<T> {
  const pollMs = options.pollMs ?? 25;
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  const maxPolls = options.maxPolls ?? (deadline === undefined ? 400 : Number.POSITIVE_INFINITY);
  for (let poll = 1; ; poll++) {
    const value = await read();
    if (done(value)) return value;
    if (deadline !== undefined && Date.now() > deadline) {
      throw new WaitError(
        `${options.what} was still ${options.describe(value)} after ${(options.timeoutMs ?? 0) / 1000} s`,
      );
    }
    if (poll >= maxPolls) {
      throw new WaitError(`${options.what} was still ${options.describe(value)} after ${poll} polls`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: parseJson(text) };
}

/** A GET as a browser makes it, without a token, stopping at redirects (their Location is the answer). */
export async function browserGet(url: string): Promise<Reply> {
  return toReply(await fetch(url, { redirect: "manual" }));
}

export interface SendInit {
  /** A string is sent as is; anything else as JSON (with `content-type: application/json`). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ConnectClient {
  apiUrl: string;
  /** The bearer token every call sends. */
  token: string;

  // ---- raw: the reply whatever its status (tests of refusals, hostile input) ----
  send(method: string, path: string, init?: SendInit): Promise<Reply>;
  get(path: string): Promise<Reply>;
  /** POSTs `body` as JSON; no body at all when it is undefined. */
  post(path: string, body?: unknown): Promise<Reply>;
  delete(path: string): Promise<Reply>;

  // ---- typed: the status checked, the body parsed by the API's schema ----
  call<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    schema: z.ZodType<T>,
    options?: { body?: unknown; expected?: number },
  ): Promise<T>;
  searchInstitutions(name: string): Promise<z.infer<typeof institutionsResponseSchema>>;
  credentialFields(
    institutionCode: string,
  ): Promise<z.infer<typeof credentialsResponseSchema>["credentials"]>;
  /** POST /v1/members (202): the sync of a credential member starts at once. */
  createMember(body: CreateMemberBody): Promise<CreatedMember>;
  getMember(guid: string): Promise<MemberView>;
  /** Polls GET /v1/members/{guid} until `done` (default: the sync ended). */
  waitForMember(
    guid: string,
    done?: (member: MemberView) => boolean,
    options?: WaitOptions,
  ): Promise<MemberView>;
  /**
   * DELETE /v1/members/{guid} (202: the member reads as deleting), then polls GET until it answers 404:
   * the background purge has deleted every row. Returns the deleting member DELETE answered.
   */
  deleteMember(guid: string, options?: Omit<WaitOptions, "onSeen">): Promise<MemberView>;
  challenges(memberGuid: string): Promise<ChallengePrompt[]>;
  /** POST …/challenges (202) with one answer per prompt guid. */
  answerChallenges(memberGuid: string, answers: { guid: string; value: string }[]): Promise<MemberView>;
  owners(memberGuid: string): Promise<z.infer<typeof ownersResponseSchema>["account_owners"]>;
  accounts(): Promise<z.infer<typeof accountsResponseSchema>["accounts"]>;
  /**
   * POST …/reconnect (202): new `credentials` for a credential member (its sync follows), nothing for an
   * OAuth member (the answer carries a new `oauth_window_uri`).
   */
  reconnect(
    memberGuid: string,
    credentials?: { guid: string; value: string }[],
  ): Promise<z.infer<typeof reconnectResponseSchema>["member"]>;
  /** One page of the member's sync history, newest first. */
  syncs(
    memberGuid: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<z.infer<typeof syncRunsResponseSchema>>;
  /**
   * One page of GET /v1/transactions/sync: the changes since `cursor` (none: everything, from an empty copy).
   * Apply `removed`, then `added` and `modified`, in that order; call again with next_cursor while has_more.
   */
  transactionChanges(options?: {
    cursor?: string;
    count?: number;
    memberGuid?: string;
    accountGuid?: string;
  }): Promise<TransactionChangesPage>;
  /** Every page of an account's transactions, following next_cursor to the end (at most `maxPages`). */
  transactionPages(
    accountGuid: string,
    options?: { limit?: number; maxPages?: number; query?: Record<string, string> },
  ): AsyncGenerator<TransactionsPage>;
}

export function createConnectClient(apiUrl: string, token: string): ConnectClient {
  const send: ConnectClient["send"] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    return toReply(await fetch(`${apiUrl}${path}`, { method, headers, body, redirect: "manual" }));
  };

  const call: ConnectClient["call"] = async (method, path, schema, options = {}) => {
    const expected = options.expected ?? (method === "POST" ? 202 : 200);
    const reply = await send(method, path, {
      headers: { accept: "application/json" },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    // Paths carry guids and cursors only, but the query is dropped anyway: it is noise in a message.
    const route = `${method} ${path.split("?")[0]}`;
    if (reply.status !== expected) {
      const error = errorResponseSchema.safeParse(reply.body);
      const detail = error.success
        ? `${error.data.error.code}: ${error.data.error.message}`
        : JSON.stringify(reply.body ?? null).slice(0, 200);
      throw new ApiCallError(
        `${route} answered ${reply.status}, expected ${expected}: ${detail}`,
        reply.status,
      );
    }
    const parsed = schema.safeParse(reply.body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join(".") || "(body)").join(", ");
      throw new ApiCallError(`${route} answered a body of an unexpected shape (${fields})`, reply.status);
    }
    return parsed.data;
  };

  const getMember = async (guid: string) =>
    (await call("GET", `/v1/members/${guid}`, memberResponseSchema)).member;

  return {
    apiUrl,
    token,
    send,
    get: (path) => send("GET", path),
    post: (path, body) => send("POST", path, body === undefined ? {} : { body }),
    delete: (path) => send("DELETE", path),
    call,
    searchInstitutions: (name) =>
      call("GET", `/v1/institutions?${new URLSearchParams({ name })}`, institutionsResponseSchema),
    credentialFields: async (code) =>
      (await call("GET", `/v1/institutions/${code}/credentials`, credentialsResponseSchema)).credentials,
    createMember: async (body) =>
      (await call("POST", "/v1/members", createMemberResponseSchema, { body })).member,
    getMember,
    waitForMember: (guid, done = syncEnded, options = {}) =>
      pollUntil(
        async () => {
          const member = await getMember(guid);
          options.onSeen?.(member);
          return member;
        },
        done,
        { ...options, what: `member ${guid}`, describe: (member) => member.sync.status },
      ),
    deleteMember: async (guid, options = {}) => {
      const { member } = await call("DELETE", `/v1/members/${guid}`, memberResponseSchema, { expected: 202 });
      await pollUntil(
        async () => (await send("GET", `/v1/members/${guid}`)).status,
        (status) => status === 404,
        { ...options, what: `member ${guid} being deleted`, describe: (status) => `answering ${status}` },
      );
      return member;
    },
    challenges: async (guid) =>
      (await call("GET", `/v1/members/${guid}/challenges`, challengesResponseSchema)).challenges,
    answerChallenges: async (guid, answers) =>
      (
        await call("POST", `/v1/members/${guid}/challenges`, memberResponseSchema, {
          body: { challenges: answers },
        })
      ).member,
    owners: async (guid) =>
      (await call("GET", `/v1/members/${guid}/owners`, ownersResponseSchema)).account_owners,
    accounts: async () => (await call("GET", "/v1/accounts", accountsResponseSchema)).accounts,
    transactionChanges: (options = {}) => {
      const query = new URLSearchParams({
        ...(options.cursor ? { cursor: options.cursor } : {}),
        ...(options.count === undefined ? {} : { count: String(options.count) }),
        ...(options.memberGuid ? { member_guid: options.memberGuid } : {}),
        ...(options.accountGuid ? { account_guid: options.accountGuid } : {}),
      });
      return call(
        "GET",
        `/v1/transactions/sync${query.size > 0 ? `?${query}` : ""}`,
        transactionsSyncResponseSchema,
      );
    },
    reconnect: async (guid, credentials) =>
      (
        await call("POST", `/v1/members/${guid}/reconnect`, reconnectResponseSchema, {
          body: credentials ? { credentials } : {},
        })
      ).member,
    syncs: (guid, options = {}) => {
      const query = new URLSearchParams({
        ...(options.limit === undefined ? {} : { limit: String(options.limit) }),
        ...(options.cursor ? { cursor: options.cursor } : {}),
      });
      return call(
        "GET",
        `/v1/members/${guid}/syncs${query.size > 0 ? `?${query}` : ""}`,
        syncRunsResponseSchema,
      );
    },
    async *transactionPages(accountGuid, options = {}) {
      const maxPages = options.maxPages ?? 10_000;
      let cursor: string | undefined;
      for (let pages = 1; ; pages++) {
        const query = new URLSearchParams({
          ...options.query,
          ...(options.limit === undefined ? {} : { limit: String(options.limit) }),
          ...(cursor ? { cursor } : {}),
        });
        const page = await call(
          "GET",
          `/v1/accounts/${accountGuid}/transactions${query.size > 0 ? `?${query}` : ""}`,
          transactionsResponseSchema,
        );
        yield page;
        cursor = page.next_cursor;
        if (!cursor) return;
        if (pages >= maxPages)
          throw new ApiCallError(`transactions of ${accountGuid} never reached the end`, 200);
      }
    },
  };
}

// ---- the OAuth browser walk ----------------------------------------------------------------------

/** One page load of the walk: where the browser went, what it got, and where it was sent next. */
export interface Hop {
  url: string;
  status: number;
  location?: string;
  text: string;
}

export interface BankDecision {
  /** The bank's page (oauth_window_uri). */
  page: Hop;
  /** The click on Authorize or Deny. */
  click: Hop;
  /** Where the bank sends the browser: this API's /v1/oauth/callback/{state} with MX's parameters. */
  redirect: URL;
}

const asHop = (url: string, reply: Reply): Hop => ({
  url,
  status: reply.status,
  text: reply.text,
  ...(reply.headers.get("location") ? { location: reply.headers.get("location") ?? "" } : {}),
});

/**
 * The user's browser at the bank: opens oauth_window_uri, clicks Authorize or Deny, and stops at the
 * bank's redirect (not followed: the caller follows it to the callback, or replays or forges it).
 * `onHop` sees each page load as it happens. Throws OauthWalkError when the page has no such link or the
 * click does not redirect.
 */
export async function decideAtBank(
  windowUri: string,
  choice: "authorize" | "deny",
  onHop?: (hop: Hop) => void,
): Promise<BankDecision> {
  const page = asHop(windowUri, await browserGet(windowUri));
  onHop?.(page);
  const href = new RegExp(`<a\\b[^>]*\\bid="${choice}"[^>]*\\bhref="([^"]+)"`).exec(page.text)?.[1];
  if (page.status !== 200 || !href) throw new OauthWalkError(`the OAuth window has no ${choice} link`);

  const clickUrl = new URL(href.replaceAll("&amp;", "&"), windowUri).href;
  const click = asHop(clickUrl, await browserGet(clickUrl));
  onHop?.(click);
  if (click.status !== 302 || !click.location) {
    throw new OauthWalkError(`the bank should redirect after the ${choice} click, answered ${click.status}`);
  }
  return { page, click, redirect: new URL(click.location, clickUrl) };
}

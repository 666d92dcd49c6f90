// Aggregated data: accounts, account owners, transactions (paged lazily, newest first).
import { badRequest, forbidden, notFound } from "./errors";
import {
  type AccountRecord,
  accountsOf,
  accountView,
  indexInRanges,
  indexRanges,
  type MemberDataShape,
  ownerViews,
  rangesTotal,
  type TransactionFilter,
  type TransactionView,
  transactionView,
} from "./generator";
import { type ApiReply, type ApiRequest, ok } from "./http";
import type { MemberRecord } from "./members";
import { pageOfList, pageWindow, paginationView } from "./pagination";

const DAY_MS = 86_400_000;
/** MX's default transaction window: 120 days back to 5 days ahead of today. */
const DEFAULT_DAYS_BACK = 120;
const DEFAULT_DAYS_AHEAD = 5;

const param = (req: ApiRequest, name: string) => req.params[name] ?? "";

function memberOf(req: ApiRequest): MemberRecord {
  return req.state.member(param(req, "user_guid"), param(req, "member_guid"), req.now);
}

function shapesOfUser(req: ApiRequest): MemberDataShape[] {
  return req.state
    .membersOf(param(req, "user_guid"), req.now)
    .flatMap((m) => (m.data === null ? [] : [m.data]));
}

/** The account with that guid among the user's members (optionally one member), or 404. */
function findAccount(
  req: ApiRequest,
  shapes: MemberDataShape[],
): { shape: MemberDataShape; account: AccountRecord } {
  const guid = param(req, "account_guid");
  for (const shape of shapes) {
    const account = accountsOf(shape).find((a) => a.guid === guid);
    if (account) return { shape, account };
  }
  throw notFound("account");
}

export function listMemberAccounts(req: ApiRequest): ApiReply {
  const shape = memberOf(req).data;
  const accounts = shape ? accountsOf(shape).map((a) => accountView(shape, a)) : [];
  const page = pageOfList(accounts, pageWindow(req.query, 1000));
  return ok({ accounts: page.items, pagination: page.pagination });
}

export function listUserAccounts(req: ApiRequest): ApiReply {
  const accounts = shapesOfUser(req).flatMap((shape) => accountsOf(shape).map((a) => accountView(shape, a)));
  const page = pageOfList(accounts, pageWindow(req.query, 1000));
  return ok({ accounts: page.items, pagination: page.pagination });
}

export function readUserAccount(req: ApiRequest): ApiReply {
  const { shape, account } = findAccount(req, shapesOfUser(req));
  return ok({ account: accountView(shape, account) });
}

export function readMemberAccount(req: ApiRequest): ApiReply {
  const data = memberOf(req).data;
  const { shape, account } = findAccount(req, data ? [data] : []);
  return ok({ account: accountView(shape, account) });
}

export function listAccountOwners(req: ApiRequest): ApiReply {
  if (!req.state.knobs.products.identity) throw forbidden("Identity is not enabled for this client.");
  const member = memberOf(req);
  // Owners come from identification (POST …/identify), as at MX.
  const owners = member.identified && member.data ? ownerViews(member.data) : [];
  const page = pageOfList(owners, pageWindow(req.query, 1000));
  return ok({ account_owners: page.items, pagination: page.pagination });
}

function parseDay(raw: string | null, name: string, fallback: number): number {
  if (raw === null || raw === "") return fallback;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw) {
    throw badRequest(`${name} must be a date as YYYY-MM-DD.`);
  }
  return ms;
}

function parseTime(raw: string | null, name: string): number | null {
  if (raw === null || raw === "") return null;
  // MX takes a date or a date-time (ISO 8601) here.
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)
    ? Date.parse(raw)
    : Number.NaN;
  if (Number.isNaN(ms)) throw badRequest(`${name} must be an ISO 8601 date or date-time.`);
  return ms;
}

function transactionFilter(req: ApiRequest): TransactionFilter {
  const today = Math.floor(req.now / DAY_MS) * DAY_MS;
  const fromDay = parseDay(req.query.get("from_date"), "from_date", today - DEFAULT_DAYS_BACK * DAY_MS);
  const toDay = parseDay(req.query.get("to_date"), "to_date", today + DEFAULT_DAYS_AHEAD * DAY_MS);
  const maxDays = req.state.knobs.maxDateRangeDays;
  // Newer MX API versions cap a date range at about six months.
  if (maxDays > 0 && (toDay - fromDay) / DAY_MS > maxDays) {
    throw badRequest(`The range from from_date to to_date cannot exceed ${maxDays} days.`);
  }
  return {
    fromDay,
    toDay,
    fromUpdated: parseTime(req.query.get("from_updated_at"), "from_updated_at"),
    toUpdated: parseTime(req.query.get("to_updated_at"), "to_updated_at"),
  };
}

/** One member's transactions in the window, all accounts interleaved so dates stay newest first. */
interface Source {
  total: number;
  at(k: number): TransactionView;
}

function memberSource(shape: MemberDataShape, filter: TransactionFilter): Source {
  const accounts = accountsOf(shape);
  const ranges = indexRanges(shape, filter);
  const n = accounts.length;
  return {
    total: rangesTotal(ranges) * n,
    at: (k) =>
      transactionView(shape, accounts[k % n] as AccountRecord, indexInRanges(ranges, Math.floor(k / n))),
  };
}

function accountSource(shape: MemberDataShape, account: AccountRecord, filter: TransactionFilter): Source {
  const ranges = indexRanges(shape, filter);
  return { total: rangesTotal(ranges), at: (k) => transactionView(shape, account, indexInRanges(ranges, k)) };
}

/** Pages through sources one after another, generating only the records of the requested page. */
function pageOfSources(req: ApiRequest, sources: Source[]): ApiReply {
  const asked = pageWindow(req.query, 1000);
  // A page MX serves smaller than asked (knob maxTransactionsPerPage): its pagination says so.
  const perPage = Math.min(asked.perPage, req.state.knobs.maxTransactionsPerPage);
  const window = { page: asked.page, perPage, offset: (asked.page - 1) * perPage };
  const total = sources.reduce((sum, s) => sum + s.total, 0);
  const transactions: TransactionView[] = [];
  let skip = window.offset;
  for (const source of sources) {
    if (transactions.length >= window.perPage) break;
    if (skip >= source.total) {
      skip -= source.total;
      continue;
    }
    for (let k = skip; k < source.total && transactions.length < window.perPage; k++)
      transactions.push(source.at(k));
    skip = 0;
  }
  return ok({ transactions, pagination: paginationView(window, total) });
}

export function listMemberTransactions(req: ApiRequest): ApiReply {
  const shape = memberOf(req).data;
  const filter = transactionFilter(req);
  return pageOfSources(req, shape ? [memberSource(shape, filter)] : []);
}

export function listUserTransactions(req: ApiRequest): ApiReply {
  const filter = transactionFilter(req);
  return pageOfSources(
    req,
    shapesOfUser(req).map((shape) => memberSource(shape, filter)),
  );
}

export function listAccountTransactions(req: ApiRequest): ApiReply {
  const { shape, account } = findAccount(req, shapesOfUser(req));
  const filter = transactionFilter(req);
  return pageOfSources(req, [accountSource(shape, account, filter)]);
}

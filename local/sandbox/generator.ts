// Deterministic fake bank data, computed by index so that a page of 1,000 out of 100,000 transactions
// costs only those 1,000 (plus a binary search for date filters), never the whole history.
//
// Layout of one account's transactions, index 0 = newest, one segment per successful aggregation,
// newest aggregation first:
//   segment k ≥ 2  what aggregation k found: `perDay` transactions for each day since aggregation k-1;
//                  its newest `pendingPerAccount` are PENDING while k is the latest aggregation, then
//                  POSTED under NEW guids (as MX does) by the next one.
//   segment 1      the history the first aggregation found: `transactionsPerAccount` spread over 364 days
//                  back from the member's creation day, the newest ones pending the same way.
// Day is non-increasing with the index, so a date window is one contiguous index range; `updated_at`
// is the time of the aggregation that created (or posted) the transaction.
import { guidFrom, hash32, mulberry32, pick } from "./prng";

const DAY_MS = 86_400_000;
const OLDEST_AGE_DAYS = 364;
const RECENT_DAYS = 3;

/** Everything the data of one member depends on: fixed for the life of one aggregation generation. */
export interface MemberDataShape {
  seed: number;
  memberGuid: string;
  memberId: string | null;
  userGuid: string;
  userId: string | null;
  institutionCode: string;
  institutionGuid: string;
  /** UTC midnight (ms) of the day the member was created: "today" for its data, so it never drifts. */
  anchorDay: number;
  accounts: number;
  transactionsPerAccount: number;
  pendingPerAccount: number;
  /** New transactions per account per elapsed day, for aggregations after the first. */
  perDay: number;
  /** Successful data aggregations so far (index 0 = first): when they ended. */
  aggregations: readonly AggregationMark[];
  /** How many days back from the latest aggregation's day are visible (standard or extended history). */
  historyDays: number;
}

export interface AggregationMark {
  /** End of the aggregation (ms). */
  at: number;
  /** UTC midnight of `at` (the first aggregation uses the anchor day). */
  day: number;
}

export const generation = (shape: MemberDataShape) => shape.aggregations.length;

interface Segment {
  /** 1-based aggregation that found these transactions. */
  gen: number;
  start: number;
  count: number;
  pending: number;
  /** Time the segment was created (its aggregation) and when its pending ones posted (next one, or null). */
  at: number;
  postedAt: number | null;
}

function segmentsOf(shape: MemberDataShape): Segment[] {
  const marks = shape.aggregations;
  const out: Segment[] = [];
  let start = 0;
  for (let k = marks.length; k >= 1; k--) {
    const mark = marks[k - 1] as AggregationMark;
    const prev = marks[k - 2];
    const count =
      k === 1
        ? shape.transactionsPerAccount
        : Math.max(0, Math.round((mark.day - (prev?.day ?? mark.day)) / DAY_MS)) * shape.perDay;
    out.push({
      gen: k,
      start,
      count,
      pending: Math.min(shape.pendingPerAccount, count),
      at: mark.at,
      postedAt: marks[k]?.at ?? null,
    });
    start += count;
  }
  return out;
}

/** Transactions per account visible in the layout (all segments). */
export function totalPerAccount(shape: MemberDataShape): number {
  return segmentsOf(shape).reduce((sum, s) => sum + s.count, 0);
}

/** Transactions the latest aggregation created per account: its new segment plus the posted pending ones. */
export function createdByLatest(shape: MemberDataShape): number {
  const [latest, previous] = segmentsOf(shape);
  if (!latest) return 0;
  return latest.count + (previous?.pending ?? 0);
}

function segmentAt(segments: Segment[], i: number): Segment {
  for (const s of segments) if (i < s.start + s.count) return s;
  return segments[segments.length - 1] as Segment;
}

/** UTC midnight (ms) of transaction `i` of any account; non-increasing in `i`. */
function dayAt(shape: MemberDataShape, segments: Segment[], i: number): number {
  const s = segmentAt(segments, i);
  const j = i - s.start;
  if (s.gen === 1) return shape.anchorDay - ageOf(shape, j) * DAY_MS;
  const mark = shape.aggregations[s.gen - 1] as AggregationMark;
  return mark.day - Math.floor(j / Math.max(1, shape.perDay)) * DAY_MS;
}

const ACCOUNT_KINDS = [
  { type: "CHECKING", subtype: "NONE", name: "Everyday Checking" },
  { type: "SAVINGS", subtype: "NONE", name: "High Yield Savings" },
  { type: "CREDIT_CARD", subtype: "NONE", name: "Rewards Visa" },
  { type: "INVESTMENT", subtype: "BROKERAGE", name: "Brokerage" },
  { type: "LOAN", subtype: "AUTO", name: "Auto Loan" },
  { type: "MORTGAGE", subtype: "NONE", name: "Home Mortgage" },
  { type: "LINE_OF_CREDIT", subtype: "HOME_EQUITY", name: "Home Equity Line" },
] as const;
type AccountKind = (typeof ACCOUNT_KINDS)[number];

export interface AccountRecord {
  guid: string;
  index: number;
  kind: AccountKind;
}

const FIRST_NAMES = [
  "Avery",
  "Jordan",
  "Riley",
  "Morgan",
  "Casey",
  "Quinn",
  "Harper",
  "Rowan",
  "Emerson",
  "Sage",
];
const LAST_NAMES = [
  "Nguyen",
  "Garcia",
  "Okafor",
  "Schmidt",
  "Tanaka",
  "Silva",
  "Kowalski",
  "Haddad",
  "Larsen",
];
const STREETS = ["Maple Ave", "Canyon Rd", "State St", "Orchard Ln", "Center St", "Lakeview Dr"];
const CITIES = [
  { city: "Lehi", state: "UT", postal: "84043" },
  { city: "Provo", state: "UT", postal: "84601" },
  { city: "Boise", state: "ID", postal: "83702" },
  { city: "Denver", state: "CO", postal: "80202" },
  { city: "Austin", state: "TX", postal: "78701" },
];

interface Merchant {
  description: string;
  category: string;
  topLevel: string;
  mcc: number;
  min: number;
  max: number;
  credit?: boolean;
}

const SPENDING: readonly Merchant[] = [
  {
    description: "Smith's Food & Drug",
    category: "Groceries",
    topLevel: "Food & Dining",
    mcc: 5411,
    min: 12,
    max: 240,
  },
  { description: "ExxonMobil", category: "Gas", topLevel: "Auto & Transport", mcc: 5541, min: 20, max: 85 },
  { description: "Chipotle", category: "Fast Food", topLevel: "Food & Dining", mcc: 5814, min: 8, max: 40 },
  { description: "Amazon", category: "Shopping", topLevel: "Shopping", mcc: 5942, min: 5, max: 300 },
  {
    description: "Rocky Mountain Power",
    category: "Utilities",
    topLevel: "Bills & Utilities",
    mcc: 4900,
    min: 40,
    max: 180,
  },
  {
    description: "Netflix",
    category: "Television",
    topLevel: "Entertainment",
    mcc: 4899,
    min: 15.49,
    max: 15.49,
  },
  {
    description: "Delta Air Lines",
    category: "Air Travel",
    topLevel: "Travel",
    mcc: 3058,
    min: 120,
    max: 900,
  },
  {
    description: "Walgreens",
    category: "Pharmacy",
    topLevel: "Health & Fitness",
    mcc: 5912,
    min: 4,
    max: 90,
  },
];
const PAYCHECK: Merchant = {
  description: "ACME Corp Payroll",
  category: "Paycheck",
  topLevel: "Income",
  mcc: 0,
  min: 1800,
  max: 2600,
  credit: true,
};
const INTEREST: Merchant = {
  description: "Interest Paid",
  category: "Interest Income",
  topLevel: "Income",
  mcc: 0,
  min: 0.5,
  max: 25,
  credit: true,
};
const TRANSFER_IN: Merchant = {
  description: "Transfer from Checking",
  category: "Transfer",
  topLevel: "Transfer",
  mcc: 0,
  min: 50,
  max: 500,
  credit: true,
};
const CARD_PAYMENT: Merchant = {
  description: "Payment - Thank You",
  category: "Credit Card Payment",
  topLevel: "Transfer",
  mcc: 0,
  min: 100,
  max: 1500,
  credit: true,
};
const LOAN_PAYMENT: Merchant = {
  description: "Loan Payment",
  category: "Loan Payment",
  topLevel: "Bills & Utilities",
  mcc: 0,
  min: 250,
  max: 1800,
  credit: true,
};
const LOAN_INTEREST: Merchant = {
  description: "Interest Charge",
  category: "Loan Interest",
  topLevel: "Fees & Charges",
  mcc: 0,
  min: 20,
  max: 400,
};
const DIVIDEND: Merchant = {
  description: "Dividend VTSAX",
  category: "Dividend & Cap Gains",
  topLevel: "Investments",
  mcc: 0,
  min: 5,
  max: 200,
  credit: true,
};
const BUY: Merchant = {
  description: "Buy VTSAX",
  category: "Buy",
  topLevel: "Investments",
  mcc: 0,
  min: 100,
  max: 2000,
};

function merchantFor(kind: AccountKind, i: number, random: () => number): Merchant {
  switch (kind.type) {
    case "CHECKING":
      return i % 14 === 7 ? PAYCHECK : pick(random, SPENDING);
    case "SAVINGS":
      return i % 3 === 0 ? INTEREST : TRANSFER_IN;
    case "CREDIT_CARD":
      return i % 20 === 10 ? CARD_PAYMENT : pick(random, SPENDING);
    case "INVESTMENT":
      return i % 2 === 0 ? DIVIDEND : BUY;
    default:
      return i % 2 === 0 ? LOAN_PAYMENT : LOAN_INTEREST;
  }
}

export function accountsOf(shape: MemberDataShape): AccountRecord[] {
  return Array.from({ length: shape.accounts }, (_, index) => ({
    guid: guidFrom("ACT", shape.seed, shape.memberGuid, "account", index),
    index,
    kind: ACCOUNT_KINDS[index % ACCOUNT_KINDS.length] ?? ACCOUNT_KINDS[0],
  }));
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const money = (n: number) => Math.round(n * 100) / 100;

export function accountView(shape: MemberDataShape, account: AccountRecord) {
  const random = mulberry32(hash32(shape.seed, account.guid, "account"));
  const type = account.kind.type;
  const isCredit = type === "CREDIT_CARD" || type === "LINE_OF_CREDIT";
  const isLoan = type === "LOAN" || type === "MORTGAGE";
  const base = isLoan ? 5_000 + random() * 250_000 : isCredit ? random() * 4_000 : 200 + random() * 20_000;
  // Every aggregation after the first moves the balance a little (new spending, payments, interest).
  const moved = mulberry32(hash32(shape.seed, account.guid, "balance", generation(shape)))();
  const balance = money(Math.max(0, base + (generation(shape) - 1) * (moved - 0.5) * 200));
  const creditLimit = isCredit ? 5_000 + Math.floor(random() * 10) * 1_000 : null;
  const createdAt = `${isoDay(shape.anchorDay)}T09:00:00Z`;
  const last4 = String(1000 + Math.floor(random() * 9000));
  return {
    account_number: last4,
    account_ownership: account.index === 0 ? "JOINT" : "INDIVIDUAL",
    apr: isCredit || isLoan ? money(3 + random() * 20) : null,
    apy: type === "SAVINGS" ? money(random() * 5) : null,
    available_balance: isLoan ? null : isCredit ? money((creditLimit ?? 0) - balance) : balance,
    available_credit: isCredit ? money((creditLimit ?? 0) - balance) : null,
    balance,
    cash_balance: type === "INVESTMENT" ? money(random() * 2_000) : null,
    created_at: createdAt,
    credit_limit: creditLimit,
    currency_code: "USD",
    day_payment_is_due: isCredit || isLoan ? 1 + Math.floor(random() * 28) : null,
    guid: account.guid,
    id: `act-${account.index + 1}-${last4}`,
    imported_at: null,
    institution_code: shape.institutionCode,
    institution_guid: shape.institutionGuid,
    interest_rate: isLoan ? money(2 + random() * 6) : null,
    is_closed: false,
    is_hidden: false,
    is_manual: false,
    last_payment: isCredit || isLoan ? money(100 + random() * 900) : null,
    last_payment_at: isCredit || isLoan ? `${isoDay(shape.anchorDay - 12 * DAY_MS)}T12:00:00Z` : null,
    loan_amount: isLoan ? money(balance * 1.3) : null,
    matures_on: isLoan ? `${isoDay(shape.anchorDay + 1_800 * DAY_MS)}T00:00:00Z` : null,
    member_guid: shape.memberGuid,
    member_id: shape.memberId,
    member_is_managed_by_user: false,
    metadata: null,
    minimum_balance: null,
    minimum_payment: isCredit || isLoan ? money(25 + random() * 500) : null,
    name: account.kind.name,
    nickname: null,
    original_balance: isLoan ? money(balance * 1.3) : null,
    payment_due_at: isCredit || isLoan ? `${isoDay(shape.anchorDay + 18 * DAY_MS)}T12:00:00Z` : null,
    payoff_balance: isLoan ? money(balance * 1.01) : null,
    routing_number: null,
    started_on: isLoan ? `${isoDay(shape.anchorDay - 900 * DAY_MS)}T00:00:00Z` : null,
    statement_balance: isCredit ? money(balance * 0.8) : null,
    subtype: account.kind.subtype,
    total_account_value: type === "INVESTMENT" ? money(balance) : null,
    type,
    updated_at: isoTime(shape.aggregations[shape.aggregations.length - 1]?.at ?? shape.anchorDay),
    user_guid: shape.userGuid,
    user_id: shape.userId,
  };
}

function person(seed: number, key: string) {
  const random = mulberry32(hash32(seed, key, "person"));
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const place = pick(random, CITIES);
  return {
    first,
    last,
    address: `${100 + Math.floor(random() * 9800)} ${pick(random, STREETS)}`,
    ...place,
    phone: `555-${String(100 + Math.floor(random() * 900))}-${String(1000 + Math.floor(random() * 9000))}`,
  };
}

/** Account owners: the member's primary owner on every account, plus a co-owner on the first (joint) one. */
export function ownerViews(shape: MemberDataShape) {
  const primary = person(shape.seed, `${shape.memberGuid}/primary`);
  const partner = {
    ...person(shape.seed, `${shape.memberGuid}/partner`),
    address: primary.address,
    city: primary.city,
    state: primary.state,
    postal: primary.postal,
  };
  return accountsOf(shape).flatMap((account) =>
    (account.index === 0 ? [primary, partner] : [primary]).map((p, k) => ({
      account_guid: account.guid,
      address: p.address,
      city: p.city,
      country: "US",
      email: `${p.first}.${p.last}@example.com`.toLowerCase(),
      first_name: p.first,
      guid: guidFrom("ACO", shape.seed, account.guid, "owner", k),
      last_name: p.last,
      member_guid: shape.memberGuid,
      owner_name: `${p.first} ${p.last}`,
      phone: p.phone,
      postal_code: p.postal,
      state: p.state,
      user_guid: shape.userGuid,
    })),
  );
}

function pendingCount(shape: MemberDataShape): number {
  return Math.min(shape.pendingPerAccount, shape.transactionsPerAccount);
}

/** Age in days (0 = the anchor day) of transaction `j` of the first aggregation's history; non-decreasing. */
export function ageOf(shape: MemberDataShape, j: number): number {
  const p = pendingCount(shape);
  if (j < p) return Math.floor((j * RECENT_DAYS) / p);
  const older = shape.transactionsPerAccount - p;
  return RECENT_DAYS + Math.floor(((j - p) * (OLDEST_AGE_DAYS - RECENT_DAYS + 1)) / older);
}

/** First index whose day is < day (binary search over the non-increasing dayAt). */
function firstIndexBefore(shape: MemberDataShape, segments: Segment[], total: number, day: number): number {
  let lo = 0;
  let hi = total;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (dayAt(shape, segments, mid) < day) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export type IndexRange = readonly [number, number];

export interface TransactionFilter {
  /** UTC midnights (ms), inclusive. */
  fromDay: number;
  toDay: number;
  /** updated_at bounds (ms), inclusive; null = unbounded. */
  fromUpdated: number | null;
  toUpdated: number | null;
}

/**
 * The index ranges [lo, hi), ascending, of one account's transactions that pass the filter and are within
 * the visible history. Every account of a member has the same layout, so the ranges hold for all of them.
 */
export function indexRanges(shape: MemberDataShape, filter: TransactionFilter): IndexRange[] {
  const segments = segmentsOf(shape);
  const total = segments.reduce((sum, s) => sum + s.count, 0);
  const latestDay = shape.aggregations[shape.aggregations.length - 1]?.day ?? shape.anchorDay;
  const fromDay = Math.max(filter.fromDay, latestDay - shape.historyDays * DAY_MS);
  if (fromDay > filter.toDay || total === 0) return [];
  const lo = firstIndexBefore(shape, segments, total, filter.toDay + 1);
  const hi = firstIndexBefore(shape, segments, total, fromDay);
  if (lo >= hi) return [];
  if (filter.fromUpdated === null && filter.toUpdated === null) return [[lo, hi]];
  const inWindow = (t: number) =>
    (filter.fromUpdated === null || t >= filter.fromUpdated) &&
    (filter.toUpdated === null || t <= filter.toUpdated);
  const ranges: [number, number][] = [];
  for (const s of segments) {
    const pieces: [number, number, number][] = [
      [s.start, s.start + s.pending, s.postedAt ?? s.at],
      [s.start + s.pending, s.start + s.count, s.at],
    ];
    for (const [a, b, t] of pieces) {
      const from = Math.max(a, lo);
      const to = Math.min(b, hi);
      if (from >= to || !inWindow(t)) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === from) last[1] = to;
      else ranges.push([from, to]);
    }
  }
  return ranges;
}

export const rangesTotal = (ranges: readonly IndexRange[]) =>
  ranges.reduce((sum, [a, b]) => sum + (b - a), 0);

/** The index at position `k` of the concatenated ranges. */
export function indexInRanges(ranges: readonly IndexRange[], k: number): number {
  let left = k;
  for (const [a, b] of ranges) {
    if (left < b - a) return a + left;
    left -= b - a;
  }
  return -1;
}

export function transactionView(shape: MemberDataShape, account: AccountRecord, i: number) {
  const segments = segmentsOf(shape);
  const s = segmentAt(segments, i);
  const j = i - s.start;
  // Keys by (aggregation, position in it), so a transaction keeps its guid and data as newer ones arrive.
  const key = s.gen === 1 ? [j] : [`g${s.gen}`, j];
  const random = mulberry32(hash32(shape.seed, account.guid, "transaction", ...key));
  const merchant = merchantFor(account.kind, s.gen === 1 ? j : j + s.gen, random);
  const inPendingSlot = j < s.pending;
  const isPending = inPendingSlot && s.postedAt === null;
  const date = isoDay(dayAt(shape, segments, i));
  const amount = money(merchant.min + random() * (merchant.max - merchant.min));
  const isCredit = merchant.credit === true;
  const guid = guidFrom("TRN", shape.seed, account.guid, isPending ? "pending" : "posted", ...key);
  const stamp = isoTime(inPendingSlot && s.postedAt !== null ? s.postedAt : s.at);
  const id = `${isPending ? "p" : "t"}-${account.index + 1}-${s.gen === 1 ? j : `g${s.gen}-${j}`}`;
  return {
    account_guid: account.guid,
    account_id: `act-${account.index + 1}`,
    amount,
    category: merchant.category,
    category_guid: guidFrom("CAT", "category", merchant.category),
    check_number_string: null,
    created_at: stamp,
    currency_code: "USD",
    date,
    description: merchant.description,
    extended_transaction_type: null,
    guid,
    id,
    is_bill_pay: merchant.topLevel === "Bills & Utilities",
    is_direct_deposit: merchant === PAYCHECK,
    is_expense: !isCredit,
    is_fee: merchant === LOAN_INTEREST,
    is_income: merchant.topLevel === "Income",
    is_international: null,
    is_manual: false,
    is_overdraft_fee: false,
    is_payroll_advance: false,
    is_recurring: null,
    is_subscription: merchant.category === "Television",
    latitude: null,
    localized_description: null,
    localized_memo: null,
    longitude: null,
    member_guid: shape.memberGuid,
    member_is_managed_by_user: false,
    memo: null,
    merchant_category_code: merchant.mcc,
    merchant_guid: merchant.mcc === 0 ? null : guidFrom("MCH", "merchant", merchant.description),
    merchant_location_guid: null,
    metadata: null,
    original_description: merchant.description.toUpperCase(),
    posted_at: isPending ? null : `${date}T12:00:00Z`,
    status: isPending ? "PENDING" : "POSTED",
    top_level_category: merchant.topLevel,
    transacted_at: `${date}T12:00:00Z`,
    type: isCredit ? "CREDIT" : "DEBIT",
    updated_at: stamp,
    user_guid: shape.userGuid,
    user_id: shape.userId,
  };
}
export type TransactionView = ReturnType<typeof transactionView>;

// Deterministic fake bank data, computed by index so that a page of 1,000 out of 100,000 transactions
// costs only those 1,000 (plus a binary search for date filters), never the whole history.
//
// Layout of one account's transactions, index 0 = newest:
//   [0, pending)  the "recent" slots, 0..2 days old: PENDING after the member's first aggregation, POSTED
//                 (with a NEW guid, as MX does) from the next aggregation on; the total stays the same.
//   [pending, n)  posted transactions spread evenly from 3 to 364 days old.
// Day age is non-decreasing with the index, so a date window is one contiguous index range.
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
  /** Successful aggregations so far (1 = first). */
  generation: number;
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
const money = (n: number) => Math.round(n * 100) / 100;

export function accountView(shape: MemberDataShape, account: AccountRecord) {
  const random = mulberry32(hash32(shape.seed, account.guid, "account"));
  const type = account.kind.type;
  const isCredit = type === "CREDIT_CARD" || type === "LINE_OF_CREDIT";
  const isLoan = type === "LOAN" || type === "MORTGAGE";
  const balance = money(
    isLoan ? 5_000 + random() * 250_000 : isCredit ? random() * 4_000 : 200 + random() * 20_000,
  );
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
    updated_at: `${isoDay(shape.anchorDay)}T12:00:00Z`,
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

/** Age in days (0 = the anchor day) of transaction `i` of any account; non-decreasing in `i`. */
export function ageOf(shape: MemberDataShape, i: number): number {
  const p = pendingCount(shape);
  if (i < p) return Math.floor((i * RECENT_DAYS) / p);
  const older = shape.transactionsPerAccount - p;
  return RECENT_DAYS + Math.floor(((i - p) * (OLDEST_AGE_DAYS - RECENT_DAYS + 1)) / older);
}

/** First index whose age is ≥ age (binary search over the non-decreasing ageOf). */
function firstIndexWithAgeAtLeast(shape: MemberDataShape, age: number): number {
  let lo = 0;
  let hi = shape.transactionsPerAccount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ageOf(shape, mid) >= age) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index range [lo, hi) of one account's transactions dated within [fromDay, toDay] (UTC ms, inclusive). */
export function indexRange(shape: MemberDataShape, fromDay: number, toDay: number): [number, number] {
  if (fromDay > toDay) return [0, 0];
  const minAge = Math.ceil((shape.anchorDay - toDay) / DAY_MS);
  const maxAge = Math.floor((shape.anchorDay - fromDay) / DAY_MS);
  if (maxAge < 0 || maxAge < minAge) return [0, 0];
  const lo = firstIndexWithAgeAtLeast(shape, Math.max(0, minAge));
  const hi = firstIndexWithAgeAtLeast(shape, maxAge + 1);
  return [lo, Math.max(lo, hi)];
}

export function transactionView(shape: MemberDataShape, account: AccountRecord, i: number) {
  const random = mulberry32(hash32(shape.seed, account.guid, "transaction", i));
  const merchant = merchantFor(account.kind, i, random);
  const isPending = i < pendingCount(shape) && shape.generation <= 1;
  const date = isoDay(shape.anchorDay - ageOf(shape, i) * DAY_MS);
  const amount = money(merchant.min + random() * (merchant.max - merchant.min));
  const isCredit = merchant.credit === true;
  const guid = isPending
    ? guidFrom("TRN", shape.seed, account.guid, "pending", i)
    : guidFrom("TRN", shape.seed, account.guid, "posted", i);
  return {
    account_guid: account.guid,
    account_id: `act-${account.index + 1}`,
    amount,
    category: merchant.category,
    category_guid: guidFrom("CAT", "category", merchant.category),
    check_number_string: null,
    created_at: `${date}T13:00:00Z`,
    currency_code: "USD",
    date,
    description: merchant.description,
    extended_transaction_type: null,
    guid,
    id: `${isPending ? "p" : "t"}-${account.index + 1}-${i}`,
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
    updated_at: `${date}T13:00:00Z`,
    user_guid: shape.userGuid,
    user_id: shape.userId,
  };
}
export type TransactionView = ReturnType<typeof transactionView>;

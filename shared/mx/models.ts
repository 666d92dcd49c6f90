// Compile-time tie between our runtime schemas (schemas.ts) and MX's own models (the generated
// SDK's .d.ts). Type-only: no runtime import of mx-platform-node anywhere. If a field we parse is
// missing from MX's model, or its type cannot be what MX declares, `tsc` fails on the line below
// naming the model, and the error lists the offending field names.
import type {
  AccountOwnerResponse,
  AccountResponse,
  ChallengeResponse,
  CredentialResponse,
  InstitutionResponse,
  MemberResponse,
  MemberStatusResponse,
  PaginationResponse,
  TransactionResponse,
  UserResponse,
} from "mx-platform-node";
import type {
  Account,
  AccountOwner,
  Challenge,
  CredentialField,
  Institution,
  Member,
  MemberStatus,
  MxUser,
  Pagination,
  Transaction,
} from "./schemas";

/**
 * Whether a present (non-null) value of ours can be MX's type: primitives by assignability,
 * arrays element-wise, objects field by field (our objects may omit MX fields, never add any).
 * Null/undefined and optionality are ignored: our schemas are often stricter (a required `guid`)
 * than MX's all-optional models.
 */
type FieldAgrees<O, T> = O extends readonly (infer OE)[]
  ? T extends readonly (infer TE)[]
    ? FieldAgrees<NonNullable<OE>, NonNullable<TE>>
    : false
  : O extends object
    ? T extends object
      ? [Mismatched<O, T>] extends [never]
        ? true
        : false
      : false
    : [O] extends [T]
      ? true
      : false;

/** Field names of `Ours` that MX's `Theirs` lacks, or whose present values cannot be MX's type. */
export type Mismatched<Ours, Theirs> = {
  [K in keyof Ours]-?: K extends keyof Theirs
    ? FieldAgrees<NonNullable<Ours[K]>, NonNullable<Theirs[K]>> extends true
      ? never
      : K
    : K;
}[keyof Ours];

/** Resolves to `true` only when nothing mismatches; otherwise to the mismatching field names. */
type Agrees<Ours, Theirs> = [Mismatched<Ours, Theirs>] extends [never] ? true : Mismatched<Ours, Theirs>;

/** Accepts only `true`: any mismatch surfaces as a type error naming the fields. */
type Assert<T extends true> = T;

export type ModelChecks = [
  Assert<Agrees<MxUser, UserResponse>>,
  Assert<Agrees<Institution, InstitutionResponse>>,
  Assert<Agrees<CredentialField, CredentialResponse>>,
  Assert<Agrees<Member, MemberResponse>>,
  Assert<Agrees<MemberStatus, MemberStatusResponse>>,
  Assert<Agrees<Challenge, ChallengeResponse>>,
  Assert<Agrees<AccountOwner, AccountOwnerResponse>>,
  Assert<Agrees<Account, AccountResponse>>,
  Assert<Agrees<Transaction, TransactionResponse>>,
  Assert<Agrees<Pagination, PaginationResponse>>,
];

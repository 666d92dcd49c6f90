// The MX port: every MX call the project makes. The HTTP client (client.ts) implements it;
// use cases depend on this interface only, so tests can pass the client pointed at the sandbox.
import type {
  Account,
  AccountOwner,
  Challenge,
  CredentialField,
  Institution,
  Member,
  MemberStatus,
  MxUser,
  Page,
} from "./schemas";

export interface PageRequest {
  page?: number;
  /** Defaults to the largest the spec allows for that endpoint (1000; 100 for institutions). */
  recordsPerPage?: number;
}

/** Institution search filters (MX's `name`, `supports_*` query parameters). */
export interface InstitutionQuery extends PageRequest {
  name?: string;
  supportsAccountIdentification?: boolean;
  supportsAccountStatement?: boolean;
  supportsAccountVerification?: boolean;
  supportsTransactionHistory?: boolean;
}

export interface TransactionQuery extends PageRequest {
  fromDate?: string; // YYYY-MM-DD
  toDate?: string; // YYYY-MM-DD
  /** Only transactions MX created or changed on or after this day (YYYY-MM-DD: MX takes no time here). */
  fromUpdatedAt?: string;
}

export interface CreateMemberInput {
  institutionCode: string;
  /** Credential member: the institution's credential field guids with the end user's values. */
  credentials?: { guid: string; value: string }[];
  /** OAuth member. */
  isOauth?: boolean;
  /** Our idempotency key for the member: MX stores it as the member's `id`. */
  id: string;
  metadata?: string;
  clientRedirectUrl?: string;
  referralSource?: "APP" | "BROWSER";
  skipAggregation?: boolean;
}

export interface OauthWindowQuery {
  clientRedirectUrl?: string;
  referralSource?: "APP" | "BROWSER";
  skipAggregation?: boolean;
}

export interface MxApi {
  createUser(input: { id: string; email?: string; metadata?: string }): Promise<MxUser>;
  /** Finds the MX user whose `id` is ours (GET /users?id=…), or undefined. */
  findUserById(id: string): Promise<MxUser | undefined>;
  searchInstitutions(query: InstitutionQuery): Promise<Page<Institution>>;
  listCredentialFields(institutionCode: string): Promise<CredentialField[]>;
  /** Not blindly retried; a 409 means the member exists: the client finds it by its `id` and returns it. */
  createMember(userGuid: string, input: CreateMemberInput): Promise<Member>;
  listMembers(userGuid: string, page?: PageRequest): Promise<Page<Member>>;
  readMember(userGuid: string, memberGuid: string): Promise<Member>;
  readMemberStatus(userGuid: string, memberGuid: string): Promise<MemberStatus>;
  /** Starts a refresh; resolves with the member (MX may decline when data is fresh). 409 → ConflictError. */
  aggregateMember(userGuid: string, memberGuid: string): Promise<Member>;
  identifyMember(userGuid: string, memberGuid: string): Promise<Member>;
  /** Asks for up to 24 months of transactions: a job like aggregate. 403 outside the contract, 400 unsupported. */
  extendHistory(userGuid: string, memberGuid: string): Promise<Member>;
  /** Empty when MX answers 204 (no challenge). */
  listChallenges(userGuid: string, memberGuid: string): Promise<Challenge[]>;
  resumeMember(
    userGuid: string,
    memberGuid: string,
    answers: { guid: string; value: string }[],
  ): Promise<Member>;
  requestOauthWindowUri(userGuid: string, memberGuid: string, query?: OauthWindowQuery): Promise<Member>;
  /**
   * Reconnect: PUT the member with the user's new credentials; MX then aggregates with them. Retried only
   * when MX provably did not get it (a resent password could count as another failed attempt at the bank).
   */
  updateMemberCredentials(
    userGuid: string,
    memberGuid: string,
    credentials: { guid: string; value: string }[],
  ): Promise<Member>;
  listAccountOwners(userGuid: string, memberGuid: string, page?: PageRequest): Promise<Page<AccountOwner>>;
  listAccounts(userGuid: string, memberGuid: string, page?: PageRequest): Promise<Page<Account>>;
  listTransactions(
    userGuid: string,
    memberGuid: string,
    query?: TransactionQuery,
  ): Promise<Page<import("./schemas").Transaction>>;
  deleteMember(userGuid: string, memberGuid: string): Promise<void>;
}

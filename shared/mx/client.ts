// The MX Platform API client (v20111101): implements the MxApi port over fetch.
// It never reads env or secrets itself: callers pass the base URL and credentials.
import * as z from "zod";
import type {
  CreateMemberInput,
  InstitutionQuery,
  MxApi,
  OauthWindowQuery,
  PageRequest,
  TransactionQuery,
} from "./api";
import { MxConflictError, MxDeadlineError, MxError, MxRateLimitedError, MxResponseError } from "./errors";
import { type MxRequest, MxTransport, type MxTransportOptions } from "./http";
import { collectAll } from "./pages";
import {
  accountOwnerSchema,
  accountSchema,
  challengeSchema,
  credentialFieldSchema,
  institutionSchema,
  type Member,
  type MxUser,
  memberSchema,
  memberStatusSchema,
  type Page,
  pageOf,
  transactionSchema,
  userSchema,
} from "./schemas";

export type MxClientOptions = MxTransportOptions;

/** MxApi plus the look-ups the client uses for its own idempotent creates. */
export interface MxClient extends MxApi {
  /** Finds the user's member whose `id` is ours, reading every page of the user's members. */
  findMemberById(userGuid: string, id: string): Promise<Member | undefined>;
  /**
   * The same client with a time budget for every call (`remainingMs`, see MxTransportOptions): e.g. one
   * per Lambda invocation, from its remaining time (shared/lambda/mx.ts).
   */
  withBudget(remainingMs: () => number): MxClient;
}

/** Largest `records_per_page` the spec allows: 1000 on member-scoped lists, 100 on institutions. */
export const MAX_RECORDS_PER_PAGE = 1000;
export const MAX_INSTITUTIONS_PER_PAGE = 100;

const USER = "/users";
const MEMBERS = "/users/{user_guid}/members";
const MEMBER = "/users/{user_guid}/members/{member_guid}";

const userBody = z.object({ user: userSchema });
const usersPage = pageOf("users", userSchema);
const memberBody = z.object({ member: memberSchema });
const membersPage = pageOf("members", memberSchema);
const statusBody = z.object({ member: memberStatusSchema });
const institutionsPage = pageOf("institutions", institutionSchema);
const credentialsPage = pageOf("credentials", credentialFieldSchema);
const challengesBody = z.object({ challenges: z.array(challengeSchema) });
const ownersPage = pageOf("account_owners", accountOwnerSchema);
const accountsPage = pageOf("accounts", accountSchema);
const transactionsPage = pageOf("transactions", transactionSchema);

export function createMxClient(options: MxClientOptions): MxClient {
  const transport = new MxTransport(options);

  /** Sends a request whose 2xx must carry a body that passes the schema. */
  async function call<T>(request: MxRequest<T> & { schema: z.ZodType<T> }): Promise<T> {
    const { data, status } = await transport.send(request);
    if (data === undefined) {
      throw new MxResponseError(
        `MX ${request.method} ${request.pathTemplate} answered ${status} without a body`,
        {
          method: request.method,
          path: request.pathTemplate,
          status,
        },
      );
    }
    return data;
  }

  function pageQuery(page: PageRequest | undefined, max: number) {
    return { page: page?.page ?? 1, records_per_page: page?.recordsPerPage ?? max };
  }

  async function listPage<K extends string, T>(
    key: K,
    schema: z.ZodType<{ [P in K]: T[] } & { pagination: Page<T>["pagination"] }>,
    request: Omit<MxRequest<unknown>, "schema" | "retry" | "method">,
  ): Promise<Page<T>> {
    const body = await call({ ...request, method: "GET", retry: "repeatable", schema });
    return { items: body[key], pagination: body.pagination };
  }

  /**
   * Creates something MX keys by our `id`, without ever making two: a 409 means it exists (find it);
   * after a failure where the create may have landed (timeout, network, 5xx), look before creating
   * again. A 429 means MX did not act, so it simply waits and repeats.
   */
  async function createOrFind<T>(create: () => Promise<T>, find: () => Promise<T | undefined>): Promise<T> {
    let mayHaveLanded = false;
    for (let attempt = 0; ; attempt++) {
      if (mayHaveLanded) {
        const found = await find();
        if (found) return found;
      }
      try {
        return await create();
      } catch (error) {
        if (error instanceof MxConflictError) {
          const found = await find();
          if (found) return found;
          throw error; // a conflict with something that is not ours (e.g. same credentials, other id)
        }
        if (
          !(error instanceof MxError) ||
          !error.retryable ||
          error instanceof MxDeadlineError ||
          attempt >= transport.retries
        ) {
          throw error;
        }
        mayHaveLanded ||= !(error instanceof MxRateLimitedError);
        await transport.waitBeforeRetry(attempt, error);
      }
    }
  }

  /**
   * A call on one member whose answer is `{member}`: read, aggregate, identify. Repeatable: a repeated
   * aggregate or identify after a lost response gets 409 "job already running", which callers treat as started.
   */
  const memberCall = async (method: "GET" | "POST", suffix: string, userGuid: string, memberGuid: string) =>
    (
      await call({
        method,
        pathTemplate: `${MEMBER}${suffix}`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        schema: memberBody,
        retry: "repeatable",
      })
    ).member;

  const client: MxClient = {
    withBudget: (remainingMs) => createMxClient({ ...options, remainingMs }),

    async createUser(input) {
      const create = async () =>
        (
          await call({
            method: "POST",
            pathTemplate: USER,
            body: { user: { id: input.id, email: input.email, metadata: input.metadata } },
            schema: userBody,
            retry: "none",
          })
        ).user;
      return createOrFind(create, () => client.findUserById(input.id));
    },

    async findUserById(id) {
      const users = await collectAll((page) =>
        listPage<"users", MxUser>("users", usersPage, {
          pathTemplate: USER,
          query: { id, ...pageQuery({ page }, MAX_RECORDS_PER_PAGE) },
        }),
      );
      return users.find((user) => user.id === id);
    },

    searchInstitutions(query: InstitutionQuery) {
      return listPage("institutions", institutionsPage, {
        pathTemplate: "/institutions",
        query: {
          name: query.name,
          supports_account_identification: query.supportsAccountIdentification,
          supports_account_statement: query.supportsAccountStatement,
          supports_account_verification: query.supportsAccountVerification,
          supports_transaction_history: query.supportsTransactionHistory,
          ...pageQuery(query, MAX_INSTITUTIONS_PER_PAGE),
        },
      });
    },

    listCredentialFields(institutionCode) {
      return collectAll((page) =>
        listPage("credentials", credentialsPage, {
          pathTemplate: "/institutions/{institution_code}/credentials",
          pathParams: { institution_code: institutionCode },
          query: pageQuery({ page }, MAX_RECORDS_PER_PAGE),
        }),
      );
    },

    async createMember(userGuid, input: CreateMemberInput) {
      const body = {
        member: {
          institution_code: input.institutionCode,
          credentials: input.credentials,
          id: input.id,
          metadata: input.metadata,
          is_oauth: input.isOauth,
          skip_aggregation: input.skipAggregation,
        },
        client_redirect_url: input.clientRedirectUrl,
        referral_source: input.referralSource,
      };
      const create = async () =>
        (
          await call({
            method: "POST",
            pathTemplate: MEMBERS,
            pathParams: { user_guid: userGuid },
            body,
            schema: memberBody,
            retry: "none",
          })
        ).member;
      return createOrFind(create, () => client.findMemberById(userGuid, input.id));
    },

    async findMemberById(userGuid, id) {
      const members = await collectAll((page) => client.listMembers(userGuid, { page }));
      return members.find((member) => member.id === id);
    },

    listMembers(userGuid, page) {
      return listPage("members", membersPage, {
        pathTemplate: MEMBERS,
        pathParams: { user_guid: userGuid },
        query: pageQuery(page, MAX_RECORDS_PER_PAGE),
      });
    },

    readMember: (userGuid, memberGuid) => memberCall("GET", "", userGuid, memberGuid),

    async readMemberStatus(userGuid, memberGuid) {
      const body = await call({
        method: "GET",
        pathTemplate: `${MEMBER}/status`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        schema: statusBody,
        retry: "repeatable",
      });
      return body.member;
    },

    aggregateMember: (userGuid, memberGuid) => memberCall("POST", "/aggregate", userGuid, memberGuid),
    identifyMember: (userGuid, memberGuid) => memberCall("POST", "/identify", userGuid, memberGuid),
    extendHistory: (userGuid, memberGuid) => memberCall("POST", "/extend_history", userGuid, memberGuid),

    async listChallenges(userGuid, memberGuid) {
      const { data } = await transport.send({
        method: "GET",
        pathTemplate: `${MEMBER}/challenges`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        schema: challengesBody,
        allowEmpty: true, // 204: no challenge
        retry: "repeatable",
      });
      return data?.challenges ?? [];
    },

    // Not retried once MX may have seen it: re-sending an answer MX already took could count as a
    // second (failed) attempt at the bank. After a timeout/5xx, callers read the status and re-ask.
    async resumeMember(userGuid, memberGuid, answers) {
      const body = await call({
        method: "PUT",
        pathTemplate: `${MEMBER}/resume`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        body: { member: { challenges: answers.map(({ guid, value }) => ({ guid, value })) } },
        schema: memberBody,
        retry: "unsent-only",
      });
      return body.member;
    },

    async updateMemberCredentials(userGuid, memberGuid, credentials) {
      const body = await call({
        method: "PUT",
        pathTemplate: MEMBER,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        body: { member: { credentials: credentials.map(({ guid, value }) => ({ guid, value })) } },
        schema: memberBody,
        retry: "unsent-only",
      });
      return body.member;
    },

    async requestOauthWindowUri(userGuid, memberGuid, query: OauthWindowQuery = {}) {
      const body = await call({
        method: "GET",
        pathTemplate: `${MEMBER}/oauth_window_uri`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        query: {
          client_redirect_url: query.clientRedirectUrl,
          referral_source: query.referralSource,
          skip_aggregation: query.skipAggregation,
        },
        schema: memberBody,
        retry: "repeatable",
      });
      return body.member;
    },

    listAccountOwners(userGuid, memberGuid, page) {
      return listPage("account_owners", ownersPage, {
        pathTemplate: `${MEMBER}/account_owners`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        query: pageQuery(page, MAX_RECORDS_PER_PAGE),
      });
    },

    listAccounts(userGuid, memberGuid, page) {
      return listPage("accounts", accountsPage, {
        pathTemplate: `${MEMBER}/accounts`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        query: pageQuery(page, MAX_RECORDS_PER_PAGE),
      });
    },

    listTransactions(userGuid, memberGuid, query: TransactionQuery = {}) {
      return listPage("transactions", transactionsPage, {
        pathTemplate: `${MEMBER}/transactions`,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        query: {
          from_date: query.fromDate,
          to_date: query.toDate,
          from_updated_at: query.fromUpdatedAt,
          ...pageQuery(query, MAX_RECORDS_PER_PAGE),
        },
      });
    },

    // A repeat after a lost response finds the member gone (404): that is the outcome we wanted.
    async deleteMember(userGuid, memberGuid) {
      await transport.send({
        method: "DELETE",
        pathTemplate: MEMBER,
        pathParams: { user_guid: userGuid, member_guid: memberGuid },
        retry: "repeatable",
        okAfterRetry: [404],
      });
    },
  };
  return client;
}

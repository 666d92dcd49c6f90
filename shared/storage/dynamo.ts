// The storage ports on one DynamoDB table (design: shared/storage/README.md, "Data model").
// Conditional single-item writes for every invariant (lease, single-use token, create-if-absent), since
// dynalite (the local DynamoDB) has no TransactWriteItems or PartiQL.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { SYNC_STATUSES } from "../domain/connection";
import {
  type Account,
  type AccountOwner,
  accountOwnerSchema,
  accountSchema,
  type Challenge,
  challengeSchema,
  type Transaction,
  transactionSchema,
} from "../mx/schemas";
import { type BatchWriteOptions, batchWrite, defaultSleep, type WriteRequest } from "./batch";
import { decodeCursor, encodeCursor } from "./cursor";
import {
  InvalidCursorError,
  InvalidQueryError,
  isConditionalCheckFailed,
  MemberNotFoundError,
  SyncLeaseLostError,
} from "./errors";
import type {
  BankDataStore,
  MemberRecord,
  MemberStore,
  OnceStore,
  SyncState,
  TransactionQuery,
} from "./ports";
import {
  MEMBERS_TO_REFRESH_INDEX,
  PARTITION_KEY,
  REFRESH_ID,
  SORT_KEY,
  TRANSACTION_DATE_KEY,
  TRANSACTIONS_BY_DATE_INDEX,
  TTL_ATTRIBUTE,
} from "./table";

export { BatchWriteError } from "./batch";
export {
  InvalidCursorError,
  InvalidQueryError,
  MemberNotFoundError,
  SyncLeaseLostError,
} from "./errors";

export interface StoresOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** BatchWriteItem tuning (concurrency 4, 8 attempts by default). */
  batch?: Omit<BatchWriteOptions, "sleep" | "random">;
}

export interface Stores {
  members: DynamoMemberStore;
  bankData: DynamoBankDataStore;
  once: DynamoOnceStore;
}

export function createStores(options: StoresOptions): Stores {
  const context: Context = {
    doc: options.doc,
    tableName: options.tableName,
    now: options.now ?? (() => new Date()),
    batch: { ...options.batch, sleep: options.sleep ?? defaultSleep, random: options.random ?? Math.random },
  };
  return {
    members: new DynamoMemberStore(context),
    bankData: new DynamoBankDataStore(context),
    once: new DynamoOnceStore(context),
  };
}

interface Context {
  doc: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
  batch: BatchWriteOptions;
}

// ---- keys ------------------------------------------------------------------------------------------------

const userPk = (userId: string) => `USER#${userId}`;
const memberSk = (memberGuid: string) => `MEMBER#${memberGuid}`;
const ownerSkPrefix = (memberGuid: string) => `OWNER#${memberGuid}#`;
const ACCOUNT_SK_PREFIX = "ACCOUNT#";
const accountSk = (accountGuid: string) => `${ACCOUNT_SK_PREFIX}${accountGuid}`;
const accountPk = (accountGuid: string) => `ACCOUNT#${accountGuid}`;
const TXN_SK_PREFIX = "TXN#";
const onceKey = (key: string) => ({ [PARTITION_KEY]: `ONCE#${key}`, [SORT_KEY]: "ONCE" });
const memberKey = (userId: string, memberGuid: string) => ({
  [PARTITION_KEY]: userPk(userId),
  [SORT_KEY]: memberSk(memberGuid),
});

/** Date part of the date index key: MX's `date`, else the day of transacted_at/posted_at, else sorts first. */
const NO_DATE = "0000-00-00";
const DATE = /^\d{4}-\d{2}-\d{2}$/;
function transactionDay(transaction: Transaction): string {
  for (const value of [transaction.date, transaction.transacted_at, transaction.posted_at]) {
    const day = value?.slice(0, 10);
    if (day && DATE.test(day)) return day;
  }
  return NO_DATE;
}
/** Above every guid character ([A-Za-z0-9_-]), so `<to>#~` bounds a whole day. */
const DAY_END = "~";

type Item = Record<string, unknown>;

/** DynamoDB rejects undefined values and the caller's client may not strip them. */
function defined<T extends Item>(item: T): T {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as T;
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

const isoDate = (date: Date) => date.toISOString();

// ---- member items ----------------------------------------------------------------------------------------

const syncStateSchema = z.object({
  status: z.enum(SYNC_STATUSES),
  syncRun: z.string().optional(),
  leaseExpiresAt: z.number().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  outcome: z.string().optional(),
  reason: z.string().optional(),
  counts: z.object({ owners: z.number(), accounts: z.number(), transactions: z.number() }).optional(),
  lastSyncedAt: z.string().optional(),
  error: z.object({ name: z.string(), message: z.string().optional() }).optional(),
});

const memberItemSchema = z.object({
  userId: z.string(),
  mxUserGuid: z.string(),
  memberGuid: z.string(),
  institutionCode: z.string(),
  isOauth: z.boolean(),
  identify: z.boolean(),
  connectionStatus: z.string().optional(),
  redirectUrl: z.string().optional(),
  challenges: z.array(challengeSchema).optional(),
  challengeTaskToken: z.string().optional(),
  challengeExpiresAt: z.number().optional(),
  sync: syncStateSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toMemberRecord(item: Item, nowMs: number): MemberRecord {
  const { challengeExpiresAt, ...record } = memberItemSchema.parse(item);
  // A token past its expiry is dead (its task timed out): never hand it out.
  if (record.challengeTaskToken !== undefined && (challengeExpiresAt ?? 0) <= nowMs) {
    delete record.challengeTaskToken;
  }
  return record;
}

/** Builds `SET #sync.#k = :k, …` parts for the defined fields of a sync patch (never the lease fields). */
function syncAssignments(
  patch: Partial<SyncState>,
  names: Record<string, string>,
  values: Record<string, unknown>,
): string[] {
  const assignments: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined || field === "syncRun" || field === "leaseExpiresAt") continue;
    names[`#f_${field}`] = field;
    values[`:f_${field}`] = stripUndefinedDeep(value);
    assignments.push(`#sync.#f_${field} = :f_${field}`);
  }
  return assignments;
}

/** Default life of a waiting challenge's task token when the caller gives none. */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 3600;

export class DynamoMemberStore implements MemberStore {
  constructor(private readonly context: Context) {}

  private get table() {
    return this.context.tableName;
  }

  async putMember(
    member: Omit<MemberRecord, "sync" | "createdAt" | "updatedAt"> & { sync?: SyncState },
  ): Promise<MemberRecord> {
    const now = isoDate(this.context.now());
    const identity = defined({
      entity: "member",
      userId: member.userId,
      mxUserGuid: member.mxUserGuid,
      memberGuid: member.memberGuid,
      institutionCode: member.institutionCode,
      isOauth: member.isOauth,
      identify: member.identify,
      connectionStatus: member.connectionStatus,
      redirectUrl: member.redirectUrl,
      updatedAt: now,
    });
    const names: Record<string, string> = { "#createdAt": "createdAt", "#sync": "sync" };
    const values: Record<string, unknown> = {
      ":createdAt": now,
      ":sync": stripUndefinedDeep(member.sync ?? { status: "PENDING" }),
    };
    const assignments = Object.entries(identity).map(([field, value]) => {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      return `#${field} = :${field}`;
    });
    // Identity fields are replaced; createdAt and a (possibly running) sync state are only set when absent.
    const result = await this.context.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: memberKey(member.userId, member.memberGuid),
        UpdateExpression: `SET ${[
          ...assignments,
          "#createdAt = if_not_exists(#createdAt, :createdAt)",
          "#sync = if_not_exists(#sync, :sync)",
        ].join(", ")}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return this.record(result.Attributes ?? {});
  }

  async getMember(userId: string, memberGuid: string): Promise<MemberRecord | undefined> {
    const result = await this.context.doc.send(
      new GetCommand({ TableName: this.table, Key: memberKey(userId, memberGuid), ConsistentRead: true }),
    );
    return result.Item ? this.record(result.Item) : undefined;
  }

  async listMembers(userId: string): Promise<MemberRecord[]> {
    const items = await queryAll(this.context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": "MEMBER#" },
      ConsistentRead: true,
    });
    return items.map((item) => this.record(item));
  }

  async recordConnectionStatus(userId: string, memberGuid: string, connectionStatus: string): Promise<void> {
    await this.updateExisting(userId, memberGuid, {
      UpdateExpression: "SET #connectionStatus = :connectionStatus, #updatedAt = :updatedAt",
      ExpressionAttributeNames: { "#connectionStatus": "connectionStatus", "#updatedAt": "updatedAt" },
      ExpressionAttributeValues: {
        ":connectionStatus": connectionStatus,
        ":updatedAt": isoDate(this.context.now()),
      },
    });
  }

  /**
   * Succeeds when no run holds the lease, the lease expired, or `syncRun` already holds it (a retried
   * Begin is idempotent). Throws MemberNotFoundError when the member does not exist.
   */
  async acquireSyncLease(
    userId: string,
    memberGuid: string,
    syncRun: string,
    leaseMs: number,
    now: Date = this.context.now(),
  ): Promise<boolean> {
    try {
      await this.context.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(userId, memberGuid),
          UpdateExpression: "SET #sync.#run = :run, #sync.#lease = :lease, #updatedAt = :updatedAt",
          ConditionExpression:
            "attribute_exists(#pk) AND (attribute_not_exists(#sync.#run) OR #sync.#lease < :now OR #sync.#run = :run)",
          ExpressionAttributeNames: {
            "#pk": PARTITION_KEY,
            "#sync": "sync",
            "#run": "syncRun",
            "#lease": "leaseExpiresAt",
            "#updatedAt": "updatedAt",
          },
          ExpressionAttributeValues: {
            ":run": syncRun,
            ":lease": now.getTime() + leaseMs,
            ":now": now.getTime(),
            ":updatedAt": isoDate(now),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (!(await this.exists(userId, memberGuid))) throw new MemberNotFoundError(userId, memberGuid);
      return false;
    }
  }

  /** Throws SyncLeaseLostError when `syncRun` no longer holds the lease (a newer run took over). */
  async updateSync(
    userId: string,
    memberGuid: string,
    syncRun: string,
    patch: Partial<SyncState>,
    member: { connectionStatus?: string } = {},
  ): Promise<void> {
    const names: Record<string, string> = { "#sync": "sync", "#run": "syncRun", "#updatedAt": "updatedAt" };
    const values: Record<string, unknown> = { ":run": syncRun, ":updatedAt": isoDate(this.context.now()) };
    const assignments = [...syncAssignments(patch, names, values), "#updatedAt = :updatedAt"];
    if (member.connectionStatus !== undefined) {
      names["#connectionStatus"] = "connectionStatus";
      values[":connectionStatus"] = member.connectionStatus;
      assignments.push("#connectionStatus = :connectionStatus");
    }
    try {
      await this.context.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(userId, memberGuid),
          UpdateExpression: `SET ${assignments.join(", ")}`,
          ConditionExpression: "#sync.#run = :run",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (!(await this.exists(userId, memberGuid))) throw new MemberNotFoundError(userId, memberGuid);
      throw new SyncLeaseLostError(memberGuid, syncRun);
    }
  }

  /**
   * Writes the run's result, releases the lease and clears any waiting challenge. Returns false (and writes
   * nothing) when `syncRun` no longer holds the lease or the member is gone: a stale run never overwrites a
   * newer run's record. `lastSyncedAt` defaults to `finishedAt` (or now) on outcome SYNCED.
   * The member stays in (or joins) the scheduled refresh on SYNCED, leaves it on NEEDS_USER (only the user
   * can fix that), and keeps its place on FAILED/TIMED_OUT (transient: a member that synced before is
   * retried by the next refresh; one that never synced is not).
   */
  async finishSync(
    userId: string,
    memberGuid: string,
    syncRun: string,
    result: Partial<SyncState>,
  ): Promise<boolean> {
    const nowIso = isoDate(this.context.now());
    const patch: Partial<SyncState> = { ...result };
    if (patch.outcome === "SYNCED" && patch.lastSyncedAt === undefined) {
      patch.lastSyncedAt = patch.finishedAt ?? nowIso;
    }
    const names: Record<string, string> = {
      "#sync": "sync",
      "#run": "syncRun",
      "#lease": "leaseExpiresAt",
      "#updatedAt": "updatedAt",
      "#challenges": "challenges",
      "#token": "challengeTaskToken",
      "#tokenExpiry": "challengeExpiresAt",
    };
    const values: Record<string, unknown> = { ":run": syncRun, ":updatedAt": nowIso };
    const set = [...syncAssignments(patch, names, values), "#updatedAt = :updatedAt"];
    const remove = ["#sync.#run", "#sync.#lease", "#challenges", "#token", "#tokenExpiry"];
    // A run's reason and error describe that run only: drop a previous run's when this one has none.
    for (const field of ["reason", "error"] as const) {
      if (patch[field] !== undefined) continue;
      names[`#clear_${field}`] = field;
      remove.push(`#sync.#clear_${field}`);
    }
    names["#refreshId"] = REFRESH_ID;
    if (patch.outcome === "SYNCED") {
      set.push("#refreshId = :refreshId");
      values[":refreshId"] = `${userId}#${memberGuid}`;
    } else if (patch.outcome === "NEEDS_USER") {
      remove.push("#refreshId");
    } else {
      delete names["#refreshId"];
    }
    try {
      await this.context.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(userId, memberGuid),
          UpdateExpression: `SET ${set.join(", ")} REMOVE ${remove.join(", ")}`,
          ConditionExpression: "#sync.#run = :run",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Stores the MFA prompts (never answers) and the waiting run's Step Functions task token. The token is
   * handed out until `expiresInSeconds` (default 1 h; pass the AwaitChallenge timeout) — a plain field, not
   * the table's TTL attribute, which would delete the whole member item.
   */
  async saveChallenges(
    userId: string,
    memberGuid: string,
    challenges: Challenge[],
    taskToken: string,
    expiresInSeconds: number = DEFAULT_CHALLENGE_TTL_SECONDS,
  ): Promise<void> {
    const now = this.context.now();
    await this.updateExisting(userId, memberGuid, {
      UpdateExpression:
        "SET #challenges = :challenges, #token = :token, #tokenExpiry = :tokenExpiry, #updatedAt = :updatedAt",
      ExpressionAttributeNames: {
        "#challenges": "challenges",
        "#token": "challengeTaskToken",
        "#tokenExpiry": "challengeExpiresAt",
        "#updatedAt": "updatedAt",
      },
      ExpressionAttributeValues: {
        // Parsed so only the schema's prompt fields are stored, whatever the caller passed.
        ":challenges": challenges.map((challenge) => stripUndefinedDeep(challengeSchema.parse(challenge))),
        ":token": taskToken,
        ":tokenExpiry": now.getTime() + expiresInSeconds * 1000,
        ":updatedAt": isoDate(now),
      },
    });
  }

  /**
   * Returns the waiting task token and clears it with the challenges (they are being answered), in one
   * conditional write: of two concurrent callers exactly one gets the token. Undefined when none waits or
   * it expired.
   */
  async takeChallengeTaskToken(userId: string, memberGuid: string): Promise<string | undefined> {
    const now = this.context.now();
    try {
      const result = await this.context.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(userId, memberGuid),
          UpdateExpression: "SET #updatedAt = :updatedAt REMOVE #token, #tokenExpiry, #challenges",
          ConditionExpression: "attribute_exists(#token) AND #tokenExpiry > :now",
          ExpressionAttributeNames: {
            "#token": "challengeTaskToken",
            "#tokenExpiry": "challengeExpiresAt",
            "#challenges": "challenges",
            "#updatedAt": "updatedAt",
          },
          ExpressionAttributeValues: { ":now": now.getTime(), ":updatedAt": isoDate(now) },
          ReturnValues: "ALL_OLD",
        }),
      );
      const token = result.Attributes?.challengeTaskToken;
      return typeof token === "string" ? token : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /** Deletes the member's owners, accounts and transactions, then the member itself (retry-safe). */
  async deleteMember(userId: string, memberGuid: string): Promise<void> {
    await deleteMemberRows(this.context, userId, memberGuid);
    await this.context.doc.send(
      new DeleteCommand({ TableName: this.table, Key: memberKey(userId, memberGuid) }),
    );
  }

  /**
   * Members in the scheduled refresh (see finishSync), `limit` (1..1000) at a time, by scanning the sparse
   * index (it holds nothing else). Pass the returned cursor back for the next page; none means done.
   */
  async listMembersToRefresh(
    limit: number,
    cursor?: string,
  ): Promise<{ members: MemberRecord[]; cursor?: string }> {
    checkLimit(limit, 1000);
    const keyNames = [PARTITION_KEY, SORT_KEY, REFRESH_ID] as const;
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor, keyNames);
    if (startKey) {
      const userId = startKey[PARTITION_KEY].slice("USER#".length);
      const memberGuid = startKey[SORT_KEY].slice("MEMBER#".length);
      const valid =
        startKey[PARTITION_KEY].startsWith("USER#") &&
        startKey[SORT_KEY].startsWith("MEMBER#") &&
        startKey[REFRESH_ID] === `${userId}#${memberGuid}`;
      if (!valid) throw new InvalidCursorError();
    }
    const page = await pageOf(
      this.context.doc.send(
        new ScanCommand({
          TableName: this.table,
          IndexName: MEMBERS_TO_REFRESH_INDEX,
          Limit: limit + 1,
          ExclusiveStartKey: startKey,
        }),
      ),
      limit,
      keyNames,
    );
    return {
      members: page.items.map((item) => this.record(item)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  private record(item: Item): MemberRecord {
    return toMemberRecord(item, this.context.now().getTime());
  }

  private async exists(userId: string, memberGuid: string): Promise<boolean> {
    const result = await this.context.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: memberKey(userId, memberGuid),
        ConsistentRead: true,
        ProjectionExpression: "#pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
      }),
    );
    return result.Item !== undefined;
  }

  /** An update that never creates a member: MemberNotFoundError when it does not exist. */
  private async updateExisting(
    userId: string,
    memberGuid: string,
    update: {
      UpdateExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<void> {
    try {
      await this.context.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: memberKey(userId, memberGuid),
          ...update,
          ConditionExpression: "attribute_exists(#pk)",
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, "#pk": PARTITION_KEY },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new MemberNotFoundError(userId, memberGuid);
      throw error;
    }
  }
}

function stripUndefinedDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefinedDeep) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, entry]) => entry !== undefined)
        .map(([key, entry]) => [key, stripUndefinedDeep(entry)]),
    ) as T;
  }
  return value;
}

// ---- bank data -------------------------------------------------------------------------------------------

export class DynamoBankDataStore implements BankDataStore {
  constructor(private readonly context: Context) {}

  async putAccountOwners(userId: string, memberGuid: string, owners: AccountOwner[]): Promise<number> {
    const rows = uniqueBy(owners, (owner) => owner.guid).map((owner) =>
      put({
        ...stripUndefinedDeep(accountOwnerSchema.parse(owner)),
        [PARTITION_KEY]: userPk(userId),
        [SORT_KEY]: `${ownerSkPrefix(memberGuid)}${owner.guid}`,
        entity: "owner",
        memberGuid,
      }),
    );
    return this.write(rows);
  }

  async putAccounts(userId: string, memberGuid: string, accounts: Account[]): Promise<number> {
    const rows = uniqueBy(accounts, (account) => account.guid).map((account) =>
      put({
        ...stripUndefinedDeep(accountSchema.parse(account)),
        [PARTITION_KEY]: userPk(userId),
        [SORT_KEY]: accountSk(account.guid),
        entity: "account",
        memberGuid,
      }),
    );
    return this.write(rows);
  }

  /**
   * Upserts the transactions keyed by their MX guid (a re-run overwrites, never duplicates), each stamped
   * with `syncRun`. First records their account guids on the member (`accountGuids`), so the member's rows
   * can be found and deleted even if its accounts were never stored; throws MemberNotFoundError when the
   * member is gone (a deleted member's sync must not write orphans).
   */
  async putTransactions(
    userId: string,
    memberGuid: string,
    transactions: Transaction[],
    syncRun: string,
  ): Promise<number> {
    const unique = uniqueBy(transactions, (transaction) => transaction.guid);
    if (unique.length === 0) return 0;
    const accountGuids = new Set<string>();
    const rows = unique.map((transaction) => {
      const accountGuid = transaction.account_guid;
      if (!accountGuid) throw new TypeError(`MX transaction ${transaction.guid} has no account_guid`);
      accountGuids.add(accountGuid);
      return put({
        ...stripUndefinedDeep(transactionSchema.parse(transaction)),
        [PARTITION_KEY]: accountPk(accountGuid),
        [SORT_KEY]: `${TXN_SK_PREFIX}${transaction.guid}`,
        [TRANSACTION_DATE_KEY]: `${transactionDay(transaction)}#${transaction.guid}`,
        entity: "transaction",
        userId,
        memberGuid,
        syncRun,
      });
    });
    try {
      await this.context.doc.send(
        new UpdateCommand({
          TableName: this.context.tableName,
          Key: memberKey(userId, memberGuid),
          UpdateExpression: "ADD #accountGuids :accountGuids",
          ConditionExpression: "attribute_exists(#pk)",
          ExpressionAttributeNames: { "#accountGuids": "accountGuids", "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":accountGuids": accountGuids },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new MemberNotFoundError(userId, memberGuid);
      throw error;
    }
    return this.write(rows);
  }

  async removeVanishedPending(
    userId: string,
    memberGuid: string,
    from: string,
    to: string,
    syncRun: string,
  ): Promise<number> {
    checkDay(from, "from");
    checkDay(to, "to");
    if (from > to) return 0;
    const deletes: WriteRequest[] = [];
    for (const accountGuid of await memberAccountGuids(this.context, userId, memberGuid)) {
      // Strongly consistent (LSI): rows this run just overwrote carry its syncRun and are kept.
      const stale = await queryAll(this.context, {
        IndexName: TRANSACTIONS_BY_DATE_INDEX,
        KeyConditionExpression: "#pk = :pk AND #dateKey BETWEEN :from AND :to",
        FilterExpression: "#status = :pending AND #memberGuid = :memberGuid AND #syncRun <> :syncRun",
        ProjectionExpression: "#pk, #sk",
        ExpressionAttributeNames: {
          "#pk": PARTITION_KEY,
          "#sk": SORT_KEY,
          "#dateKey": TRANSACTION_DATE_KEY,
          "#status": "status",
          "#memberGuid": "memberGuid",
          "#syncRun": "syncRun",
        },
        ExpressionAttributeValues: {
          ":pk": accountPk(accountGuid),
          ":from": `${from}#`,
          ":to": `${to}#${DAY_END}`,
          ":pending": "PENDING",
          ":memberGuid": memberGuid,
          ":syncRun": syncRun,
        },
        ConsistentRead: true,
      });
      deletes.push(...stale.map(keyOf).map(del));
    }
    return this.write(deletes);
  }

  async listAccountOwners(userId: string, memberGuid: string): Promise<AccountOwner[]> {
    const items = await queryAll(this.context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": ownerSkPrefix(memberGuid) },
    });
    return items.map((item) => accountOwnerSchema.parse(item));
  }

  async listAccounts(userId: string): Promise<Account[]> {
    const items = await queryAll(this.context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": ACCOUNT_SK_PREFIX },
    });
    return items.map((item) => accountSchema.parse(item));
  }

  async getAccount(userId: string, accountGuid: string): Promise<Account | undefined> {
    const result = await this.context.doc.send(
      new GetCommand({
        TableName: this.context.tableName,
        Key: { [PARTITION_KEY]: userPk(userId), [SORT_KEY]: accountSk(accountGuid) },
      }),
    );
    return result.Item ? accountSchema.parse(result.Item) : undefined;
  }

  /**
   * An account's transactions, newest first (by date, then guid), optionally within [from, to], `limit`
   * (1..500) a page. The caller checks the account belongs to the user (getAccount) before calling.
   * Throws InvalidCursorError for a cursor not issued for this account and range.
   */
  async listTransactions(
    accountGuid: string,
    query: TransactionQuery,
  ): Promise<{ items: Transaction[]; cursor?: string }> {
    checkLimit(query.limit, 500);
    if (query.from !== undefined) checkDay(query.from, "from");
    if (query.to !== undefined) checkDay(query.to, "to");
    const pk = accountPk(accountGuid);
    const lower = query.from === undefined ? undefined : `${query.from}#`;
    const upper = query.to === undefined ? undefined : `${query.to}#${DAY_END}`;
    const keyNames = [PARTITION_KEY, SORT_KEY, TRANSACTION_DATE_KEY] as const;
    const startKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor, keyNames);
    if (startKey) {
      const guid = startKey[SORT_KEY].slice(TXN_SK_PREFIX.length);
      const dateKey = startKey[TRANSACTION_DATE_KEY];
      const valid =
        startKey[PARTITION_KEY] === pk &&
        startKey[SORT_KEY].startsWith(TXN_SK_PREFIX) &&
        guid.length > 0 &&
        dateKey === `${dateKey.slice(0, 10)}#${guid}` &&
        (dateKey.slice(0, 10) === NO_DATE || DATE.test(dateKey.slice(0, 10))) &&
        (lower === undefined || dateKey >= lower) &&
        (upper === undefined || dateKey <= upper);
      if (!valid) throw new InvalidCursorError();
    }
    if (lower !== undefined && upper !== undefined && lower > upper) return { items: [] };

    const names: Record<string, string> = { "#pk": PARTITION_KEY };
    const values: Record<string, unknown> = { ":pk": pk };
    let condition = "#pk = :pk";
    if (lower !== undefined || upper !== undefined) names["#dateKey"] = TRANSACTION_DATE_KEY;
    if (lower !== undefined) values[":lower"] = lower;
    if (upper !== undefined) values[":upper"] = upper;
    if (lower !== undefined && upper !== undefined) condition += " AND #dateKey BETWEEN :lower AND :upper";
    else if (lower !== undefined) condition += " AND #dateKey >= :lower";
    else if (upper !== undefined) condition += " AND #dateKey <= :upper";

    const page = await pageOf(
      this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          IndexName: TRANSACTIONS_BY_DATE_INDEX,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: query.limit + 1,
          ExclusiveStartKey: startKey,
        }),
      ),
      query.limit,
      keyNames,
    );
    return {
      items: page.items.map((item) => transactionSchema.parse(item)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  async countTransactions(accountGuid: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":pk": accountPk(accountGuid) },
          Select: "COUNT",
          ExclusiveStartKey: startKey,
        }),
      );
      count += result.Count ?? 0;
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  async deleteMemberData(userId: string, memberGuid: string): Promise<void> {
    await deleteMemberRows(this.context, userId, memberGuid);
  }

  private write(requests: WriteRequest[]): Promise<number> {
    return batchWrite(this.context.doc, this.context.tableName, requests, this.context.batch);
  }
}

// ---- once ------------------------------------------------------------------------------------------------

export class DynamoOnceStore implements OnceStore {
  constructor(private readonly context: Context) {}

  /**
   * Records `key` for `ttlSeconds`. An expired record counts as absent even before DynamoDB's TTL sweep
   * removes it (that can take days), so a key may be claimed again after it expires.
   */
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    if (key.length === 0 || key.length > 1024) throw new InvalidQueryError("claim key must be 1..1024 chars");
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new InvalidQueryError("ttlSeconds must be > 0");
    const nowSeconds = Math.floor(this.context.now().getTime() / 1000);
    try {
      await this.context.doc.send(
        new PutCommand({
          TableName: this.context.tableName,
          Item: { ...onceKey(key), entity: "once", [TTL_ATTRIBUTE]: nowSeconds + Math.ceil(ttlSeconds) },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ":now": nowSeconds },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------

const put = (item: Item): WriteRequest => ({ PutRequest: { Item: item } });
const del = (key: Item): WriteRequest => ({ DeleteRequest: { Key: key } });
const keyOf = (item: Item): Item => ({ [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] });

function checkLimit(limit: number, max: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidQueryError(`limit must be an integer in 1..${max}`);
  }
}

function checkDay(day: string, name: string): void {
  if (!DATE.test(day)) throw new InvalidQueryError(`${name} must be a date YYYY-MM-DD`);
}

async function queryAll(
  context: Context,
  input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await context.doc.send(
      new QueryCommand({ ...input, TableName: context.tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(result.Items ?? []));
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * One page from a request made with `Limit: limit + 1`: the extra item only tells whether more follow, so a
 * cursor is returned only when there is a next page (DynamoDB alone would also return one after an exact
 * last page). When the 1 MB read cap cut the page short, DynamoDB's own LastEvaluatedKey is the cursor.
 */
async function pageOf<const N extends string>(
  request: Promise<{ Items?: Item[]; LastEvaluatedKey?: Record<string, unknown> }>,
  limit: number,
  keyNames: readonly N[],
): Promise<{ items: Item[]; cursor?: string }> {
  const result = await request;
  const items = result.Items ?? [];
  if (items.length > limit) {
    const page = items.slice(0, limit);
    const last = page[page.length - 1] ?? {};
    return {
      items: page,
      cursor: encodeCursor(Object.fromEntries(keyNames.map((name) => [name, last[name]]))),
    };
  }
  return {
    items,
    ...(result.LastEvaluatedKey ? { cursor: encodeCursor(result.LastEvaluatedKey) } : {}),
  };
}

/** The member's account guids: its stored accounts plus every account its transactions were stored under. */
async function memberAccountGuids(context: Context, userId: string, memberGuid: string): Promise<string[]> {
  const [accounts, member] = await Promise.all([
    queryAll(context, {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      FilterExpression: "#memberGuid = :memberGuid",
      ProjectionExpression: "#sk",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#memberGuid": "memberGuid" },
      ExpressionAttributeValues: {
        ":pk": userPk(userId),
        ":prefix": ACCOUNT_SK_PREFIX,
        ":memberGuid": memberGuid,
      },
      ConsistentRead: true,
    }),
    context.doc.send(
      new GetCommand({
        TableName: context.tableName,
        Key: memberKey(userId, memberGuid),
        ProjectionExpression: "#accountGuids",
        ExpressionAttributeNames: { "#accountGuids": "accountGuids" },
        ConsistentRead: true,
      }),
    ),
  ]);
  const guids = new Set<string>();
  for (const item of accounts) guids.add(String(item[SORT_KEY]).slice(ACCOUNT_SK_PREFIX.length));
  const fromTransactions = member.Item?.accountGuids;
  if (fromTransactions instanceof Set) for (const guid of fromTransactions) guids.add(String(guid));
  return [...guids];
}

/** Deletes every owner, account and transaction row of the member (not the member item), batched. */
async function deleteMemberRows(context: Context, userId: string, memberGuid: string): Promise<void> {
  const deletes: WriteRequest[] = [];
  for (const accountGuid of await memberAccountGuids(context, userId, memberGuid)) {
    const transactions = await queryAll(context, {
      KeyConditionExpression: "#pk = :pk",
      FilterExpression: "#memberGuid = :memberGuid",
      ProjectionExpression: "#pk, #sk",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#memberGuid": "memberGuid" },
      ExpressionAttributeValues: { ":pk": accountPk(accountGuid), ":memberGuid": memberGuid },
    });
    deletes.push(...transactions.map(keyOf).map(del));
  }
  const ownersAndAccounts = await queryAll(context, {
    KeyConditionExpression: "#pk = :pk",
    FilterExpression: "#memberGuid = :memberGuid AND #entity IN (:owner, :account)",
    ProjectionExpression: "#pk, #sk",
    ExpressionAttributeNames: {
      "#pk": PARTITION_KEY,
      "#sk": SORT_KEY,
      "#memberGuid": "memberGuid",
      "#entity": "entity",
    },
    ExpressionAttributeValues: {
      ":pk": userPk(userId),
      ":memberGuid": memberGuid,
      ":owner": "owner",
      ":account": "account",
    },
  });
  deletes.push(...ownersAndAccounts.map(keyOf).map(del));
  await batchWrite(context.doc, context.tableName, deletes, context.batch);
}

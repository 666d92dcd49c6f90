// MemberStore on the table: the member item (USER#<userId> / MEMBER#<guid>), its sync lease, its challenge
// and task token, and the sparse refresh index. Each invariant is one conditional write on the member item.
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Challenge, challengeSchema } from "../mx/schemas";
import { deleteMemberRows } from "./bank-data-store";
import { conditionalWrite, type OnConditionFailed } from "./conditional";
import { defined, isoDate, type StoreContext, stripUndefinedDeep } from "./context";
import { decodeCursor } from "./cursor";
import { InvalidCursorError, MemberNotFoundError, SyncLeaseLostError } from "./errors";
import {
  type Item,
  isMemberRefreshKey,
  MEMBER_SK_PREFIX,
  memberAliasKey,
  memberKey,
  refreshId,
  userPk,
} from "./keys";
import { DELETING_AT, PRODUCT_ATTRIBUTES, syncAssignments, toMemberRecord } from "./member-item";
import type { MemberRecord, MemberStore, MxProduct, ProductAvailability, SyncState } from "./ports";
import { checkLimit, pageOf, queryAll } from "./query";
import { MEMBERS_TO_REFRESH_INDEX, PARTITION_KEY, REFRESH_ID, SORT_KEY } from "./table";

/** Default life of a waiting challenge's task token when the caller gives none. */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 3600;

/** Rows a step of `deleteMember` (everything at once, outside the background purge) deletes. */
const DELETE_AT_ONCE_ROWS = 5000;

type MemberUpdate = {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  ReturnValues?: "ALL_OLD";
};

export class DynamoMemberStore implements MemberStore {
  constructor(private readonly context: StoreContext) {}

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
    // The alias MX's webhooks are resolved through (they name the member, not our user). Idempotent.
    await this.context.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...memberAliasKey(member.memberGuid), entity: "memberAlias", userId: member.userId },
      }),
    );
    return this.record(result.Attributes ?? {});
  }

  async findMemberUser(memberGuid: string): Promise<string | undefined> {
    const result = await this.context.doc.send(
      new GetCommand({ TableName: this.table, Key: memberAliasKey(memberGuid) }),
    );
    const userId = result.Item?.userId;
    return typeof userId === "string" ? userId : undefined;
  }

  async releaseSyncLease(userId: string, memberGuid: string, syncRun: string): Promise<boolean> {
    const write = await this.update(
      userId,
      memberGuid,
      {
        UpdateExpression: "REMOVE #sync.#run, #sync.#lease",
        ConditionExpression: "#sync.#run = :run",
        ExpressionAttributeNames: { "#sync": "sync", "#run": "syncRun", "#lease": "leaseExpiresAt" },
        ExpressionAttributeValues: { ":run": syncRun },
      },
      "ignore",
    );
    return write.written;
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
      ExpressionAttributeValues: { ":pk": userPk(userId), ":prefix": MEMBER_SK_PREFIX },
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
    const write = await this.update(
      userId,
      memberGuid,
      {
        UpdateExpression: "SET #sync.#run = :run, #sync.#lease = :lease, #updatedAt = :updatedAt",
        ConditionExpression:
          "attribute_exists(#pk) AND attribute_not_exists(#deletingAt) AND " +
          "(attribute_not_exists(#sync.#run) OR #sync.#lease < :now OR #sync.#run = :run)",
        ExpressionAttributeNames: {
          "#pk": PARTITION_KEY,
          "#deletingAt": DELETING_AT,
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
      },
      "read",
    );
    if (!write.written && write.item === "missing") throw new MemberNotFoundError(userId, memberGuid);
    return write.written;
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
    const write = await this.update(
      userId,
      memberGuid,
      {
        UpdateExpression: `SET ${assignments.join(", ")}`,
        ConditionExpression: "#sync.#run = :run",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      "read",
    );
    if (!write.written && write.item === "missing") throw new MemberNotFoundError(userId, memberGuid);
    if (!write.written) throw new SyncLeaseLostError(memberGuid, syncRun);
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
      values[":refreshId"] = refreshId(userId, memberGuid);
    } else if (patch.outcome === "NEEDS_USER") {
      remove.push("#refreshId");
    } else {
      delete names["#refreshId"];
    }
    // The member's health: unsuccessful ends in a row since the last SYNCED.
    names["#failures"] = "consecutiveFailures";
    values[":zero"] = 0;
    if (patch.outcome === "SYNCED") set.push("#sync.#failures = :zero");
    else {
      set.push("#sync.#failures = if_not_exists(#sync.#failures, :zero) + :one");
      values[":one"] = 1;
    }
    const write = await this.update(
      userId,
      memberGuid,
      {
        UpdateExpression: `SET ${set.join(", ")} REMOVE ${remove.join(", ")}`,
        ConditionExpression: "#sync.#run = :run",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      "ignore",
    );
    return write.written;
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
    const write = await this.update(
      userId,
      memberGuid,
      {
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
      },
      "ignore",
    );
    const token = write.written ? write.output.Attributes?.challengeTaskToken : undefined;
    return typeof token === "string" ? token : undefined;
  }

  async markDeleting(userId: string, memberGuid: string): Promise<MemberRecord | undefined> {
    const now = isoDate(this.context.now());
    const write = await this.update(
      userId,
      memberGuid,
      {
        // The lease goes with the mark: the run holding it stops at its next lease check (updateSync,
        // finishSync) even if stopping its execution failed, and acquireSyncLease refuses a DELETING member.
        UpdateExpression:
          "SET #deletingAt = if_not_exists(#deletingAt, :now), #updatedAt = :now " +
          "REMOVE #sync.#run, #sync.#lease, #refreshId, #challenges, #token, #tokenExpiry",
        ConditionExpression: "attribute_exists(#pk)",
        ExpressionAttributeNames: {
          "#pk": PARTITION_KEY,
          "#deletingAt": DELETING_AT,
          "#updatedAt": "updatedAt",
          "#sync": "sync",
          "#run": "syncRun",
          "#lease": "leaseExpiresAt",
          "#refreshId": REFRESH_ID,
          "#challenges": "challenges",
          "#token": "challengeTaskToken",
          "#tokenExpiry": "challengeExpiresAt",
        },
        ExpressionAttributeValues: { ":now": now },
        ReturnValues: "ALL_OLD",
      },
      "missing",
    );
    return write.written ? this.record(write.output.Attributes ?? {}) : undefined;
  }

  purgeMemberRows(userId: string, memberGuid: string, maxRows: number): Promise<number> {
    return deleteMemberRows(this.context, userId, memberGuid, maxRows);
  }

  async deleteMemberItem(userId: string, memberGuid: string): Promise<void> {
    await this.context.doc.send(
      new DeleteCommand({ TableName: this.table, Key: memberAliasKey(memberGuid) }),
    );
    await this.context.doc.send(
      new DeleteCommand({ TableName: this.table, Key: memberKey(userId, memberGuid) }),
    );
  }

  /** Rows first, the member item last, so an interrupted delete leaves the member and a retry finishes it. */
  async deleteMember(userId: string, memberGuid: string): Promise<void> {
    while ((await this.purgeMemberRows(userId, memberGuid, DELETE_AT_ONCE_ROWS)) > 0) {
      // each step deleted some rows; the next one starts from what is left
    }
    await this.deleteMemberItem(userId, memberGuid);
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
    if (startKey && !isMemberRefreshKey(startKey[PARTITION_KEY], startKey[SORT_KEY], startKey[REFRESH_ID])) {
      throw new InvalidCursorError();
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

  async recordProduct(
    userId: string,
    memberGuid: string,
    product: MxProduct,
    availability: ProductAvailability,
  ): Promise<void> {
    await this.updateExisting(userId, memberGuid, {
      UpdateExpression: "SET #product = :availability, #updatedAt = :updatedAt",
      ExpressionAttributeNames: { "#product": PRODUCT_ATTRIBUTES[product], "#updatedAt": "updatedAt" },
      ExpressionAttributeValues: { ":availability": availability, ":updatedAt": isoDate(this.context.now()) },
    });
  }

  /** One conditional write: only an older day moves it (pages of a run arrive in any order). */
  async recordHistoryFrom(userId: string, memberGuid: string, day: string): Promise<void> {
    await this.update(
      userId,
      memberGuid,
      {
        UpdateExpression: "SET #historyFrom = :day",
        ConditionExpression:
          "attribute_exists(#pk) AND (attribute_not_exists(#historyFrom) OR #historyFrom > :day)",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#historyFrom": "historyFrom" },
        ExpressionAttributeValues: { ":day": day },
      },
      "ignore",
    );
  }

  private record(item: Item): MemberRecord {
    return toMemberRecord(item, this.context.now().getTime());
  }

  /** One conditional update of the member item (see conditionalWrite for `onFailed`). */
  private update(userId: string, memberGuid: string, update: MemberUpdate, onFailed: OnConditionFailed) {
    const key = memberKey(userId, memberGuid);
    return conditionalWrite(
      this.context,
      key,
      () => this.context.doc.send(new UpdateCommand({ TableName: this.table, Key: key, ...update })),
      onFailed,
    );
  }

  /** An update that never creates a member: MemberNotFoundError when it does not exist. */
  private async updateExisting(
    userId: string,
    memberGuid: string,
    update: Omit<MemberUpdate, "ConditionExpression" | "ReturnValues">,
  ): Promise<void> {
    const write = await this.update(
      userId,
      memberGuid,
      {
        ...update,
        ConditionExpression: "attribute_exists(#pk)",
        ExpressionAttributeNames: { ...update.ExpressionAttributeNames, "#pk": PARTITION_KEY },
      },
      "missing",
    );
    if (!write.written) throw new MemberNotFoundError(userId, memberGuid);
  }
}

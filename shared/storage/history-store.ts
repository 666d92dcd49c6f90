// SyncHistory on the table: a run's record sits in its user's partition next to the member
// (keys.syncRunKey), so listing a member's runs is one backwards Query; DynamoDB's TTL expires old runs.
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { SYNC_TRIGGERS } from "../domain/triggers";
import type { SyncHistory, SyncRun, SyncRunPage } from "../history/ports";
import { SYNC_HISTORY_MAX_PAGE, SYNC_HISTORY_RETENTION_DAYS } from "../history/settings";
import { defined, type StoreContext } from "./context";
import { decodeCursor } from "./cursor";
import { InvalidCursorError } from "./errors";
import { isSyncRunCursorKey, syncCallsKey, syncRunKey, syncRunSkPrefix, userPk } from "./keys";
import { checkLimit, pageOf } from "./query";
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "./table";

const DAY_SECONDS = 86_400;

/** Parsed on read: storage attributes dropped, fields a later version adds tolerated. */
const syncRunItemSchema = z.object({
  runId: z.string(),
  trigger: z.enum(SYNC_TRIGGERS),
  startedAt: z.string(),
  finishedAt: z.string(),
  outcome: z.string(),
  reason: z.string().optional(),
  rows: z.object({ written: z.number(), removed: z.number() }),
  mxCalls: z.number().optional(),
});

export class DynamoSyncHistory implements SyncHistory {
  constructor(
    private readonly context: StoreContext,
    private readonly retentionDays = SYNC_HISTORY_RETENTION_DAYS,
  ) {}

  async recordRun(userId: string, memberGuid: string, run: SyncRun): Promise<void> {
    const finishedSeconds = Math.floor(Date.parse(run.finishedAt) / 1000);
    await this.context.doc.send(
      new PutCommand({
        TableName: this.context.tableName,
        Item: defined({
          ...syncRunKey(userId, memberGuid, run.startedAt, run.runId),
          entity: "syncRun",
          memberGuid,
          ...run,
          [TTL_ATTRIBUTE]: finishedSeconds + this.retentionDays * DAY_SECONDS,
        }),
      }),
    );
  }

  async addMxCalls(userId: string, memberGuid: string, runId: string, calls: number): Promise<void> {
    const nowSeconds = Math.floor(this.context.now().getTime() / 1000);
    await this.context.doc.send(
      new UpdateCommand({
        TableName: this.context.tableName,
        Key: syncCallsKey(userId, memberGuid, runId),
        UpdateExpression:
          "ADD #calls :calls SET #entity = :entity, #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
        ExpressionAttributeNames: { "#calls": "mxCalls", "#entity": "entity", "#expiresAt": TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ":calls": calls,
          ":entity": "syncCalls",
          ":expiresAt": nowSeconds + this.retentionDays * DAY_SECONDS,
        },
      }),
    );
  }

  async mxCallsOf(userId: string, memberGuid: string, runId: string): Promise<number | undefined> {
    const result = await this.context.doc.send(
      new GetCommand({
        TableName: this.context.tableName,
        Key: syncCallsKey(userId, memberGuid, runId),
        ConsistentRead: true,
      }),
    );
    const calls = result.Item?.mxCalls;
    return typeof calls === "number" ? calls : undefined;
  }

  async listRuns(
    userId: string,
    memberGuid: string,
    query: { limit: number; cursor?: string },
  ): Promise<SyncRunPage> {
    checkLimit(query.limit, SYNC_HISTORY_MAX_PAGE);
    const keyNames = [PARTITION_KEY, SORT_KEY] as const;
    const startKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor, keyNames);
    if (startKey && !isSyncRunCursorKey(userId, memberGuid, startKey[PARTITION_KEY], startKey[SORT_KEY])) {
      throw new InvalidCursorError();
    }
    const nowSeconds = Math.floor(this.context.now().getTime() / 1000);
    const page = await pageOf(
      this.context.doc.send(
        new QueryCommand({
          TableName: this.context.tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          // TTL deletion can lag by days: an expired run is already gone for the reader.
          FilterExpression: "#expiresAt > :now",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#expiresAt": TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ":pk": userPk(userId),
            ":prefix": syncRunSkPrefix(memberGuid),
            ":now": nowSeconds,
          },
          ScanIndexForward: false,
          Limit: query.limit + 1,
          ExclusiveStartKey: startKey,
        }),
      ),
      query.limit,
      keyNames,
    );
    const runs = page.items.map((item) => syncRunItemSchema.parse(item) as SyncRun);
    return page.cursor ? { runs, cursor: page.cursor } : { runs };
  }
}

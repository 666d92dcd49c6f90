// The one definition of the data table: key names, indexes and TTL, shared by the CDK data construct
// (infra) and by local table creation (local/dynamo.ts). Plain data only, so infra can read it as-is.
// Why this shape: see shared/storage/README.md ("Data model").
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** Partition and sort key attribute names of the table (strings). */
export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";

/**
 * Local secondary index: an account's transactions ordered by `<date>#<transactionGuid>` (newest first
 * when read backwards). An LSI, not a GSI, because it reads strongly consistent: `removeVanishedPending`
 * must see the rows this run just wrote, or it would delete them. Its cost: one account's item collection
 * (transactions + this index) is capped at 10 GB, about 5 million transactions at ~1 KB each.
 */
export const TRANSACTIONS_BY_DATE_INDEX = "transactionsByDate";
export const TRANSACTION_DATE_KEY = "dateKey";

/**
 * Sparse global secondary index of the members the schedule refreshes: only member items carrying
 * `refreshId` (`<userId>#<memberGuid>`) appear in it. Scanned page by page (a unique partition key per
 * member spreads writes; a scan of a sparse index reads only the members it holds).
 */
export const MEMBERS_TO_REFRESH_INDEX = "membersToRefresh";
export const REFRESH_ID = "refreshId";

/**
 * Sparse global secondary index of PENDING transaction rows by member (`pendingOf` = `<userId>#<memberGuid>`,
 * sorted by the date key): the background refresh reads the first and last to learn which dates to read
 * again. Posted rows never carry `pendingOf`, so the index holds a handful of rows per member.
 */
export const PENDING_BY_MEMBER_INDEX = "pendingByMember";
export const PENDING_OF = "pendingOf";

/** DynamoDB TTL attribute (epoch seconds) on transient single-use items (OAuth states, idempotency keys). */
export const TTL_ATTRIBUTE = "expiresAt";

export type KeyType = "HASH" | "RANGE";
export type AttributeType = "S";
export type ProjectionType = "ALL";

export interface IndexDefinition {
  indexName: string;
  partitionKey: { name: string; type: AttributeType };
  sortKey?: { name: string; type: AttributeType };
  projectionType: ProjectionType;
}

/** Everything infra needs to build `dynamodb.TableV2` (billing: on demand). */
export const TABLE = {
  partitionKey: { name: PARTITION_KEY, type: "S" },
  sortKey: { name: SORT_KEY, type: "S" },
  timeToLiveAttribute: TTL_ATTRIBUTE,
  localSecondaryIndexes: [
    {
      indexName: TRANSACTIONS_BY_DATE_INDEX,
      partitionKey: { name: PARTITION_KEY, type: "S" },
      sortKey: { name: TRANSACTION_DATE_KEY, type: "S" },
      projectionType: "ALL",
    },
  ],
  globalSecondaryIndexes: [
    {
      indexName: MEMBERS_TO_REFRESH_INDEX,
      partitionKey: { name: REFRESH_ID, type: "S" },
      projectionType: "ALL",
    },
    {
      indexName: PENDING_BY_MEMBER_INDEX,
      partitionKey: { name: PENDING_OF, type: "S" },
      sortKey: { name: TRANSACTION_DATE_KEY, type: "S" },
      projectionType: "ALL",
    },
  ],
} as const satisfies {
  partitionKey: { name: string; type: AttributeType };
  sortKey: { name: string; type: AttributeType };
  timeToLiveAttribute: string;
  localSecondaryIndexes: readonly IndexDefinition[];
  globalSecondaryIndexes: readonly IndexDefinition[];
};

/** CreateTable input for local use (dynalite); TTL is set separately in AWS (dynalite has no UpdateTimeToLive). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keySchema = (index: IndexDefinition) => [
    { AttributeName: index.partitionKey.name, KeyType: "HASH" as const },
    ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: "RANGE" as const }] : []),
  ];
  const attributeNames = new Set<string>([
    TABLE.partitionKey.name,
    TABLE.sortKey.name,
    ...[...TABLE.localSecondaryIndexes, ...TABLE.globalSecondaryIndexes].flatMap((index: IndexDefinition) => [
      index.partitionKey.name,
      ...(index.sortKey ? [index.sortKey.name] : []),
    ]),
  ]);
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [...attributeNames].map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey.name, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey.name, KeyType: "RANGE" },
    ],
    LocalSecondaryIndexes: TABLE.localSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index),
      Projection: { ProjectionType: index.projectionType },
    })),
    GlobalSecondaryIndexes: TABLE.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index),
      Projection: { ProjectionType: index.projectionType },
    })),
  };
}

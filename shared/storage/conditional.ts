// The one place a failed conditional write is interpreted. Every invariant is one conditional write on one
// item; when its condition fails, callers need to know whether the item is missing (deleted, never created)
// or exists and refused (lease held, token taken, key claimed).
//
// Read again rather than ReturnValuesOnConditionCheckFailure: "ALL_OLD": dynalite (the local DynamoDB that
// every test runs on) ignores that parameter, so the error never carries the old item locally and an
// ALL_OLD path would run only in AWS, untested. See shared/storage/README.md ("Conditional writes").
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { StoreContext } from "./context";
import { isConditionalCheckFailed } from "./errors";
import type { ItemKey } from "./keys";
import { PARTITION_KEY } from "./table";

/**
 * What to learn about the item when the condition fails:
 * - "read": read the item again (strongly consistent, key only) to tell "missing" from "exists";
 * - "missing": the condition only fails when the item is missing (`attribute_exists(pk)` alone): no read;
 * - "ignore": the caller treats both alike: no read, "unknown".
 */
export type OnConditionFailed = "read" | "missing" | "ignore";

export type ConditionalWrite<T> =
  | { written: true; output: T }
  | { written: false; item: "missing" | "exists" | "unknown" };

/** Runs `write` (one conditional write on `key`); any error but a failed condition is rethrown. */
export async function conditionalWrite<T>(
  context: StoreContext,
  key: ItemKey,
  write: () => Promise<T>,
  onFailed: OnConditionFailed,
): Promise<ConditionalWrite<T>> {
  try {
    return { written: true, output: await write() };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  if (onFailed === "missing") return { written: false, item: "missing" };
  if (onFailed === "ignore") return { written: false, item: "unknown" };
  const result = await context.doc.send(
    new GetCommand({
      TableName: context.tableName,
      Key: key,
      ConsistentRead: true,
      ProjectionExpression: "#pk",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY },
    }),
  );
  return { written: false, item: result.Item ? "exists" : "missing" };
}

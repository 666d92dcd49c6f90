// Query helpers shared by the stores: read every page, count, one API page with an exact cursor, and the
// argument checks behind InvalidQueryError.
import { QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { StoreContext } from "./context";
import { encodeCursor } from "./cursor";
import { InvalidQueryError } from "./errors";
import { DAY, type Item } from "./keys";

type QueryInput = Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "Select">;

export async function queryAll(context: StoreContext, input: QueryInput): Promise<Item[]> {
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

/** Counts the matching items (after the filter), page by page: nothing but the count is read back. */
export async function countAll(context: StoreContext, input: QueryInput): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await context.doc.send(
      new QueryCommand({
        ...input,
        TableName: context.tableName,
        Select: "COUNT",
        ExclusiveStartKey: startKey,
      }),
    );
    count += result.Count ?? 0;
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/**
 * One page from a request made with `Limit: limit + 1`: the extra item only tells whether more follow, so a
 * cursor is returned only when there is a next page (DynamoDB alone would also return one after an exact
 * last page). When the 1 MB read cap cut the page short, DynamoDB's own LastEvaluatedKey is the cursor.
 */
export async function pageOf<const N extends string>(
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

export function checkLimit(limit: number, max: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidQueryError(`limit must be an integer in 1..${max}`);
  }
}

export function checkDay(day: string, name: string): void {
  if (!DAY.test(day)) throw new InvalidQueryError(`${name} must be a date YYYY-MM-DD`);
}

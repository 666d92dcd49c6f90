// OnceStore on the table: single-use keys (OAuth states, idempotency keys) with a TTL.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { conditionalWrite } from "./conditional";
import type { StoreContext } from "./context";
import { InvalidQueryError } from "./errors";
import { onceKey } from "./keys";
import type { OnceStore } from "./ports";
import { PARTITION_KEY, TTL_ATTRIBUTE } from "./table";

export class DynamoOnceStore implements OnceStore {
  constructor(private readonly context: StoreContext) {}

  /**
   * Records `key` for `ttlSeconds`. An expired record counts as absent even before DynamoDB's TTL sweep
   * removes it (that can take days), so a key may be claimed again after it expires.
   */
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    if (key.length === 0 || key.length > 1024) throw new InvalidQueryError("claim key must be 1..1024 chars");
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new InvalidQueryError("ttlSeconds must be > 0");
    const nowSeconds = Math.floor(this.context.now().getTime() / 1000);
    const itemKey = onceKey(key);
    const write = await conditionalWrite(
      this.context,
      itemKey,
      () =>
        this.context.doc.send(
          new PutCommand({
            TableName: this.context.tableName,
            Item: { ...itemKey, entity: "once", [TTL_ATTRIBUTE]: nowSeconds + Math.ceil(ttlSeconds) },
            ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ":now": nowSeconds },
          }),
        ),
      "ignore",
    );
    return write.written;
  }
}

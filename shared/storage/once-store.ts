// OnceStore on the table: short-lived single-use records (OAuth states, a create in flight) with a TTL.
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionalWrite } from "./conditional";
import type { StoreContext } from "./context";
import { InvalidQueryError } from "./errors";
import { onceKey } from "./keys";
import type { OnceStore } from "./ports";
import { PARTITION_KEY, TTL_ATTRIBUTE } from "./table";

const NOTE = "note";

export class DynamoOnceStore implements OnceStore {
  constructor(private readonly context: StoreContext) {}

  private nowSeconds(): number {
    return Math.floor(this.context.now().getTime() / 1000);
  }

  /**
   * Records `key` for `ttlSeconds`. An expired record counts as absent even before DynamoDB's TTL sweep
   * removes it (that can take days), so a key may be claimed again after it expires.
   */
  async claim(key: string, ttlSeconds: number, note?: string): Promise<boolean> {
    if (key.length === 0 || key.length > 1024) throw new InvalidQueryError("claim key must be 1..1024 chars");
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new InvalidQueryError("ttlSeconds must be > 0");
    const nowSeconds = this.nowSeconds();
    const itemKey = onceKey(key);
    const write = await conditionalWrite(
      this.context,
      itemKey,
      () =>
        this.context.doc.send(
          new PutCommand({
            TableName: this.context.tableName,
            Item: {
              ...itemKey,
              entity: "once",
              [TTL_ATTRIBUTE]: nowSeconds + Math.ceil(ttlSeconds),
              ...(note === undefined ? {} : { [NOTE]: note }),
            },
            ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ":now": nowSeconds },
          }),
        ),
      "ignore",
    );
    return write.written;
  }

  async read(key: string): Promise<{ note?: string } | undefined> {
    const { Item } = await this.context.doc.send(
      new GetCommand({ TableName: this.context.tableName, Key: onceKey(key), ConsistentRead: true }),
    );
    const expiresAt = Item?.[TTL_ATTRIBUTE];
    if (!Item || typeof expiresAt !== "number" || expiresAt <= this.nowSeconds()) return undefined;
    const note = Item[NOTE];
    return typeof note === "string" ? { note } : {};
  }

  async mark(key: string, note: string): Promise<void> {
    const itemKey = onceKey(key);
    await conditionalWrite(
      this.context,
      itemKey,
      () =>
        this.context.doc.send(
          new UpdateCommand({
            TableName: this.context.tableName,
            Key: itemKey,
            UpdateExpression: "SET #note = :note",
            ConditionExpression: "attribute_exists(#pk) AND #expiresAt > :now",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": TTL_ATTRIBUTE, "#note": NOTE },
            ExpressionAttributeValues: { ":note": note, ":now": this.nowSeconds() },
          }),
        ),
      "ignore",
    );
  }

  async release(key: string, note: string): Promise<void> {
    const itemKey = onceKey(key);
    // Only our own claim: after it expired, another request may hold the key under a note of its own.
    await conditionalWrite(
      this.context,
      itemKey,
      () =>
        this.context.doc.send(
          new DeleteCommand({
            TableName: this.context.tableName,
            Key: itemKey,
            ConditionExpression: "#note = :note",
            ExpressionAttributeNames: { "#note": NOTE },
            ExpressionAttributeValues: { ":note": note },
          }),
        ),
      "ignore",
    );
  }
}

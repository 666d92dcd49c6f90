// SweepLeaseStore on the table: one item (keys.ts `sweepLeaseKey`) holding the running sweep's id and its
// expiry, and the previous sweep's member count (the next sweep's pace is derived from it). The expiry is
// an ordinary attribute, not the table's TTL: the count must outlive the lease.
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionalWrite } from "./conditional";
import type { StoreContext } from "./context";
import { InvalidQueryError } from "./errors";
import { sweepLeaseKey } from "./keys";
import type { SweepLeaseStore } from "./ports";

const NAMES = { "#sweepId": "sweepId", "#until": "leaseUntil", "#lastCount": "lastCount" };

export class DynamoSweepLeaseStore implements SweepLeaseStore {
  constructor(private readonly context: StoreContext) {}

  private until(leaseSeconds: number): number {
    if (!Number.isFinite(leaseSeconds) || leaseSeconds <= 0) {
      throw new InvalidQueryError("leaseSeconds must be > 0");
    }
    return this.context.now().getTime() + Math.ceil(leaseSeconds) * 1000;
  }

  async acquire(
    sweepId: string,
    leaseSeconds: number,
  ): Promise<{ acquired: true; lastCount?: number } | { acquired: false; heldBy: string }> {
    const write = await conditionalWrite(
      this.context,
      sweepLeaseKey(),
      () =>
        this.context.doc.send(
          new UpdateCommand({
            TableName: this.context.tableName,
            Key: sweepLeaseKey(),
            UpdateExpression: "SET #sweepId = :sweepId, #until = :until",
            // The same id again: Lambda retried the scheduled invocation (same request id) after a failure.
            ConditionExpression: "attribute_not_exists(#sweepId) OR #until <= :now OR #sweepId = :sweepId",
            ExpressionAttributeNames: namesFor(["#sweepId", "#until"]),
            ExpressionAttributeValues: {
              ":sweepId": sweepId,
              ":until": this.until(leaseSeconds),
              ":now": this.context.now().getTime(),
            },
            ReturnValues: "ALL_NEW",
          }),
        ),
      "ignore",
    );
    if (write.written) {
      const lastCount = write.output.Attributes?.lastCount;
      return typeof lastCount === "number" ? { acquired: true, lastCount } : { acquired: true };
    }
    const { Item } = await this.context.doc.send(
      new GetCommand({ TableName: this.context.tableName, Key: sweepLeaseKey(), ConsistentRead: true }),
    );
    return { acquired: false, heldBy: typeof Item?.sweepId === "string" ? Item.sweepId : "unknown" };
  }

  async renew(sweepId: string, leaseSeconds: number): Promise<boolean> {
    return this.updateIfHeld(sweepId, "SET #until = :until", ["#sweepId", "#until"], {
      ":until": this.until(leaseSeconds),
    });
  }

  async release(sweepId: string, count: number): Promise<boolean> {
    return this.updateIfHeld(
      sweepId,
      "SET #lastCount = :count REMOVE #sweepId, #until",
      ["#sweepId", "#until", "#lastCount"],
      {
        ":count": count,
      },
    );
  }

  /** Applies `update` to the lease only while `sweepId` holds it; false when another sweep does. */
  private async updateIfHeld(
    sweepId: string,
    update: string,
    names: Parameters<typeof namesFor>[0],
    values: Record<string, unknown>,
  ): Promise<boolean> {
    const write = await conditionalWrite(
      this.context,
      sweepLeaseKey(),
      () =>
        this.context.doc.send(
          new UpdateCommand({
            TableName: this.context.tableName,
            Key: sweepLeaseKey(),
            UpdateExpression: update,
            ConditionExpression: "#sweepId = :sweepId",
            ExpressionAttributeNames: namesFor(names),
            ExpressionAttributeValues: { ":sweepId": sweepId, ...values },
          }),
        ),
      "ignore",
    );
    return write.written;
  }
}

/** Only the names an expression uses (DynamoDB refuses unused ones). */
function namesFor(names: (keyof typeof NAMES)[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, NAMES[name]]));
}

// Typed storage errors: each sets `name`, which the API maps to a status and Step Functions sees as the error name.

/** A pagination cursor that this store did not issue for this query (malformed, tampered or foreign): a 400. */
export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  constructor(message = "The cursor is not valid for this query.") {
    super(message);
  }
}

/** A query argument out of range (limit, date format): a 400. The API validates first; this is the backstop. */
export class InvalidQueryError extends Error {
  override readonly name = "InvalidQueryError";
}

/** The member does not exist (deleted, or never created) where an operation needs it. */
export class MemberNotFoundError extends Error {
  override readonly name = "MemberNotFoundError";
  constructor(
    readonly userId: string,
    readonly memberGuid: string,
  ) {
    super(`Member ${memberGuid} not found`);
  }
}

/** The caller's sync run no longer holds the member's lease: a newer run took over, this one must stop. */
export class SyncLeaseLostError extends Error {
  override readonly name = "SyncLeaseLostError";
  constructor(
    readonly memberGuid: string,
    readonly syncRun: string,
  ) {
    super(`Sync run ${syncRun} no longer holds the lease of member ${memberGuid}`);
  }
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/**
 * Storage errors worth running the task again for (the state machine retries them, bounded): the batch
 * writer's unprocessed items after its own attempts (sustained throttling), and DynamoDB's throttling and
 * 5xx errors once the SDK's own retries are spent. Writes are upserts by key, so a repeated task is safe.
 */
export const RETRYABLE_STORAGE_ERRORS = [
  "BatchWriteError",
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
] as const;

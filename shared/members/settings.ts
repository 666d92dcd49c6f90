// The member purge's numbers, in one place: read by the DELETE use case, the purge Lambda, the CDK construct
// that deploys its queue (infra/constructs/member-purge.ts) and the embedded stack. Plain data.

export const MEMBER_PURGE = {
  /**
   * The purge's first delivery waits this long after DELETE marked the member: longer than any Lambda
   * that writes a member's rows may run (the sync's store tasks and Finish 120 s, the refresh consumer
   * 60 s; a CDK test checks every function with write access),
   * so a writer that passed its member check just before the mark has ended before a row is deleted, and
   * nothing is written behind the purge. Writers that come later see the mark and write nothing.
   */
  startDelaySeconds: 180,
  /** The purge Lambda's timeout; the queue's visibility timeout is 6× it, as AWS advises for Lambda sources. */
  consumerTimeoutSeconds: 300,
  /** A step starts only with this much time left; otherwise the purge enqueues its continuation. */
  reserveSeconds: 30,
  /** Rows one step deletes (each transaction with its change-log entry): a few seconds on DynamoDB. */
  rowsPerStep: 1000,
  /** Receives before a message moves to the dead-letter queue (the member stays DELETING; alarmed). */
  maxReceiveCount: 5,
  /** DLQ retention: two weeks to look at what failed. */
  dlqRetentionDays: 14,
} as const;

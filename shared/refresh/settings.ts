// The background refresh's numbers, in one place: read by its Lambdas, the CDK construct that deploys the
// queue and its consumer (infra/constructs/background-refresh.ts) and the local SQS emulation. Plain data.

export const BACKGROUND_REFRESH = {
  /** Messages handed to one consumer invocation (SQS event source batch size). */
  batchSize: 10,
  /**
   * Consumer invocations at once (the event source's maximumConcurrency). The cap on how hard the sweep
   * and a burst of webhooks can hit MX: about 10 × 7 status checks a second when nothing is new.
   */
  maxConcurrency: 10,
  /** The consumer's timeout; the queue's visibility timeout is 6× it, as AWS advises for Lambda sources. */
  consumerTimeoutSeconds: 60,
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
  /** DLQ retention: two weeks to look at what failed. */
  dlqRetentionDays: 14,
  /**
   * The sweep spreads its members over time (SQS DelaySeconds, ≤ 900 s): at least this many a second. It
   * goes faster when the previous sweep's count needs it to finish within `sweepCadenceShare` of the
   * cadence, up to `sweepMaxMembersPerSecond`.
   */
  sweepMembersPerSecond: 20,
  /** The share of its cadence a sweep should take, at most: room for retries before the next one is due. */
  sweepCadenceShare: 0.75,
  /**
   * The fastest pace: what the consumer absorbs. Each of its `maxConcurrency` invocations handles its batch
   * one member at a time, a "nothing new" member one MX status call of about 250 ms: 10 / 0.25 = 40 a
   * second. Faster would only queue members up (and ask MX for more). Raise it with `maxConcurrency`.
   */
  sweepMaxMembersPerSecond: 40,
  /**
   * How long the sweep lease holds after its last sign of life (the start, then each pass renews it): longer
   * than a pass (900 s) plus SQS's redeliveries of a continuation (5 receives × a 360 s visibility timeout),
   * so a running sweep keeps it, and a crashed one frees it within the hour.
   */
  sweepLeaseSeconds: 3600,
  /**
   * At most this many members a pass (900 s at the floor pace): a faster sweep makes shorter passes rather
   * than bigger ones, since a continuation's pass runs inside the consumer's timeout.
   */
  sweepPassMembers: 18_000,
  /** Members read per page of the sparse refresh index. */
  sweepPageSize: 500,
  /** Default sweep cadence, in hours (a CDK prop/context overrides it). */
  sweepEveryHours: 6,
  /** How long a background read holds the member's lease if it dies (longer than the consumer's timeout). */
  leaseSeconds: 300,
  /**
   * Re-read transactions MX updated since the day before the previous read's data: `from_updated_at` is a
   * day (MX takes no time), and a day's overlap absorbs clock skew; rows are upserts, so overlap is free.
   */
  updatedOverlapDays: 1,
} as const;

/** SQS's largest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;

// Public AWS unit prices (us-east-1, on-demand, December 2026 price pages), in one place for the cost
// figures. Bench-only: nothing in a Lambda bundle imports this.
export const PRICES = {
  /** Lambda arm64: per GB-second of billed duration, and per request. */
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
  /** SQS standard queue: per API request (64 KB chunks; our messages are < 1 KB). */
  sqsRequest: 0.4 / 1_000_000,
  /** DynamoDB on-demand (Standard table class): per read request unit and per write request unit. */
  dynamoRead: 0.125 / 1_000_000,
  dynamoWrite: 0.625 / 1_000_000,
  /** API Gateway HTTP API: per request (the first 300 million a month). */
  httpApiRequest: 1.0 / 1_000_000,
  /** Step Functions Standard: per state transition (what a workflow per refresh would cost). */
  sfnTransition: 0.025 / 1_000,
} as const;

/** The consumer's and the webhook's memory (MxFunction's default). */
export const LAMBDA_MEMORY_MB = 512;

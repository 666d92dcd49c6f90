// The API's request limits, plain data: the middy chain enforces them (http.ts) and the OpenAPI document
// states them (openapi.ts) without importing the Lambda runtime (middy, the logger) to do so.

/** Largest accepted request body. Credentials and MFA answers fit many times over. */
export const MAX_BODY_BYTES = 32 * 1024;

/**
 * HTTP API's integration timeout (its maximum, and its default): after it API Gateway answers its own bare
 * 503 `{"message":"Service Unavailable"}`, whatever the function would have said.
 */
export const API_INTEGRATION_TIMEOUT_SECONDS = 30;

/**
 * The Lambda timeout of a route that calls MX: shorter than the integration timeout, and its MX calls end
 * sooner still (shared/mx/budget.ts: 26.1 s of MX, then a JSON 503/504), so the client gets our answer.
 */
export const MX_ROUTE_TIMEOUT_SECONDS = 29;

/** The Lambda timeout of a route that does not call MX (DynamoDB, Step Functions). */
export const ROUTE_TIMEOUT_SECONDS = 10;

// The API's request limits, plain data: the middy chain enforces them (http.ts) and the OpenAPI document
// states them (openapi.ts) without importing the Lambda runtime (middy, the logger) to do so.

/** Largest accepted request body. Credentials and MFA answers fit many times over. */
export const MAX_BODY_BYTES = 32 * 1024;

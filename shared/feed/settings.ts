// The changes feed's page sizes and retention: one home, read by the request schema, the store, the
// configuration and the OpenAPI text. Plain data, no imports: every Lambda's configuration reads it.

/** Changes a page holds when the app does not say. */
export const CHANGES_DEFAULT_PAGE = 100;
/** The most changes one page may hold. */
export const CHANGES_MAX_PAGE = 500;

/**
 * Days the transactions change log keeps its entries (DynamoDB TTL), so how long a cursor is honoured, when
 * the configuration (CHANGE_RETENTION_DAYS) says nothing. Plain data: shared/config.ts reads it too.
 */
export const DEFAULT_CHANGE_RETENTION_DAYS = 30;

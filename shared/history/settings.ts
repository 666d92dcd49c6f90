// How long sync history is kept: DynamoDB's TTL deletes a run's record this long after it finished.
export const SYNC_HISTORY_RETENTION_DAYS = 90;
/** The page sizes of GET /v1/members/{guid}/syncs. */
export const SYNC_HISTORY_DEFAULT_PAGE = 20;
export const SYNC_HISTORY_MAX_PAGE = 100;

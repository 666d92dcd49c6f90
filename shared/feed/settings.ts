// The changes feed's page sizes: one home, read by the request schema, the use case and the OpenAPI text.

/** Changes a page holds when the app does not say. */
export const CHANGES_DEFAULT_PAGE = 100;
/** The most changes one page may hold. */
export const CHANGES_MAX_PAGE = 500;

// Who started a sync run: recorded in the run's history (shared/history) and carried by the workflow's input.

/** Runs of the sync workflow: after a create, after the OAuth callback, asked by the user, after a reconnect. */
export const WORKFLOW_SYNC_TRIGGERS = ["create", "oauth", "user", "reconnect"] as const;
/** Background reads outside the workflow: a webhook from MX, the periodic sweep. */
export const BACKGROUND_SYNC_TRIGGERS = ["webhook", "sweep"] as const;
export const SYNC_TRIGGERS = [...WORKFLOW_SYNC_TRIGGERS, ...BACKGROUND_SYNC_TRIGGERS] as const;

export type WorkflowSyncTrigger = (typeof WORKFLOW_SYNC_TRIGGERS)[number];
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

// The sync-history port: one record per run of a member's sync (workflow runs and background reads), listed
// newest first for the app. No bank data and no secret: trigger, times, outcome, row counts, MX calls.
import type { SyncTrigger } from "../domain/triggers";

/**
 * Rows a run changed. `written` counts the owners, accounts and transactions the run wrote: each is an
 * upsert keyed by its MX guid, so it is either new or an update, and telling the two apart would cost a
 * read per row. `removed` counts the stored rows the run deleted (pending transactions MX no longer reports).
 */
export interface SyncRunRows {
  written: number;
  removed: number;
}

export interface SyncRun {
  /** The run's id: the workflow's execution name, or the background read's own id. Unique per member. */
  runId: string;
  trigger: SyncTrigger;
  startedAt: string; // ISO
  finishedAt: string; // ISO
  /** SYNCED, NEEDS_USER, FAILED, TIMED_OUT. */
  outcome: string;
  /** Human readable, when the run did not sync. */
  reason?: string;
  rows: SyncRunRows;
  /** HTTP requests the run sent to MX, retries included; absent where the run did not count them. */
  mxCalls?: number;
}

export interface SyncRunPage {
  runs: SyncRun[];
  cursor?: string;
}

export interface SyncHistory {
  /** Records a finished run (idempotent: recording the same run again overwrites it). Expires by TTL. */
  recordRun(userId: string, memberGuid: string, run: SyncRun): Promise<void>;
  /** Adds `calls` MX requests to the run's counter (one UpdateItem ADD; the counter expires with the runs). */
  addMxCalls(userId: string, memberGuid: string, runId: string, calls: number): Promise<void>;
  /** The run's counted MX requests so far; undefined when none were counted. */
  mxCallsOf(userId: string, memberGuid: string, runId: string): Promise<number | undefined>;
  /** The member's runs, newest first, `limit` (1..100) a page; throws InvalidCursorError on a foreign cursor. */
  listRuns(
    userId: string,
    memberGuid: string,
    query: { limit: number; cursor?: string },
  ): Promise<SyncRunPage>;
}

// The storage ports on one DynamoDB table (design: shared/storage/README.md). This entry point wires the
// three stores to one client and table; each store lives in its own module, keys only in keys.ts.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SyncHistory } from "../history/ports";
import { DynamoBankDataStore } from "./bank-data-store";
import { type BatchWriteOptions, defaultSleep } from "./batch";
import { DEFAULT_CHANGE_RETENTION_DAYS, DynamoChangeLog } from "./change-log";
import type { StoreContext } from "./context";
import { DynamoSyncHistory } from "./history-store";
import { DynamoMemberStore } from "./member-store";
import { DynamoOnceStore } from "./once-store";
import type { BankDataStore, ChangeLog, MemberStore, OnceStore, SweepLeaseStore } from "./ports";
import { DynamoSweepLeaseStore } from "./sweep-lease-store";

export { BatchWriteError } from "./batch";
export { DEFAULT_CHANGE_RETENTION_DAYS } from "./change-log";
export {
  InvalidCursorError,
  InvalidQueryError,
  MemberNotFoundError,
  SyncLeaseLostError,
} from "./errors";
export { DEFAULT_CHALLENGE_TTL_SECONDS } from "./member-store";

export interface StoresOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** BatchWriteItem tuning (concurrency 4, 8 attempts by default). */
  batch?: Omit<BatchWriteOptions, "sleep" | "random">;
  /** How long transaction change-log entries are kept (default DEFAULT_CHANGE_RETENTION_DAYS). */
  changeRetentionDays?: number;
}

/** The ports, not the classes: callers (tests included) can use nothing the ports do not promise. */
export interface Stores {
  members: MemberStore;
  bankData: BankDataStore;
  once: OnceStore;
  /** The user's transactions change log, read by the changes feed. */
  changes: ChangeLog;
  /** Each member's sync runs (shared/history/ports.ts). */
  history: SyncHistory;
  /** At most one background-refresh sweep at a time (shared/refresh/sweep.ts). */
  sweeps: SweepLeaseStore;
}

export function createStores(options: StoresOptions): Stores {
  const context: StoreContext = {
    doc: options.doc,
    tableName: options.tableName,
    now: options.now ?? (() => new Date()),
    batch: { ...options.batch, sleep: options.sleep ?? defaultSleep, random: options.random ?? Math.random },
    changeRetentionDays: options.changeRetentionDays ?? DEFAULT_CHANGE_RETENTION_DAYS,
  };
  return {
    members: new DynamoMemberStore(context),
    bankData: new DynamoBankDataStore(context),
    once: new DynamoOnceStore(context),
    changes: new DynamoChangeLog(context),
    history: new DynamoSyncHistory(context),
    sweeps: new DynamoSweepLeaseStore(context),
  };
}

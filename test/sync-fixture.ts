import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createTable, type LocalDynamo, startDynamo } from "../local/dynamo";
import { type Sandbox, type SandboxOptions, startSandbox } from "../local/sandbox/index";
import { connectMxbankMember } from "../local/sandbox-member";
import { createMxClient, type MxClient } from "../shared/mx/client";
import { createStores, type Stores } from "../shared/storage/dynamo";
import type { MemberRecord } from "../shared/storage/ports";
import type { SyncRequest } from "../shared/sync/contract";

export interface SyncWorld {
  sandbox: Sandbox;
  dynamo: LocalDynamo;
  mx: MxClient;
  doc: DynamoDBDocumentClient;
  /** A fresh table's stores: tests never see each other's rows. */
  freshStores(): Promise<TestStores>;
  /** An MX user + mxbank member whose password picks the outcome, stored as our member record. */
  connect(stores: Stores, password: string, options?: { identify?: boolean }): Promise<Connected>;
  close(): Promise<void>;
}

export type TestStores = Stores & { tableName: string };

export interface Connected {
  member: MemberRecord;
  request: SyncRequest;
}

let tables = 0;

export async function startSyncWorld(knobs: SandboxOptions = {}): Promise<SyncWorld> {
  const [sandbox, dynamo] = await Promise.all([
    startSandbox({ aggregationMs: 40, ...knobs }),
    startDynamo({ tableName: "sync-fixture" }),
  ]);
  const mx = createMxClient({
    baseUrl: sandbox.url,
    credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    // Fast retries: the tests exercise outcomes, not backoff timing.
    baseDelayMs: 1,
    maxDelayMs: 5,
  });
  const doc = DynamoDBDocumentClient.from(dynamo.client);
  return {
    sandbox,
    dynamo,
    mx,
    doc,
    async freshStores() {
      const tableName = `sync-test-${++tables}`;
      await createTable(dynamo.client, tableName);
      return { ...createStores({ doc, tableName, sleep: async () => {} }), tableName };
    },
    connect: (stores, password, options = {}) =>
      connectMxbankMember({ mx, members: stores.members }, password, options),
    async close() {
      await Promise.all([sandbox.close(), dynamo.close()]);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// The MX sandbox: a local HTTP server that behaves like MX's integrations environment
// (https://int-api.mx.com) for the endpoints this project calls. See README.md next to this file.
import type { AddressInfo } from "node:net";
import { type SeededMember, seedConnectedMembers } from "./bulk";
import { type FaultCounts, injectedFaults } from "./faults";
import {
  DEFAULT_KNOBS,
  type FaultKnobs,
  type KnobsPatch,
  MX_KNOBS,
  mergeKnobs,
  type ProductKnobs,
  type SandboxKnobs,
  type WebhookKnobs,
} from "./knobs";
import { createSandboxServer } from "./server";
import { SandboxState } from "./state";
import type { WebhookAttempt, WebhookRecord } from "./webhooks";

export type { SeededMember } from "./bulk";
export { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID } from "./institutions";
export { CONNECTION_STATUS_IDS, CORRECT_ANSWER, EXTENDED_HISTORY_DAYS, TEST_USERNAME } from "./members";
export { RETRY_DELAYS_MS } from "./webhooks";
export type {
  FaultKnobs,
  KnobsPatch,
  ProductKnobs,
  SandboxKnobs,
  WebhookAttempt,
  WebhookKnobs,
  WebhookRecord,
};
export { DEFAULT_KNOBS, MX_KNOBS };

/** The sandbox clock: real time plus an offset that only moves forward. */
export interface SandboxClock {
  /** The sandbox's "now" (ms since the epoch). */
  now(): number;
  /** How far ahead of real time the sandbox is (ms). */
  offsetMs(): number;
  /** Same as sandbox.advanceTime. */
  advance(ms: number): Promise<void>;
}

export const DEFAULT_CLIENT_ID = "sandbox-client-id";
export const DEFAULT_API_KEY = "sandbox-api-key";
export const DEFAULT_SEED = 20111101;

export interface SandboxOptions extends KnobsPatch {
  /** 0 = an ephemeral port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: env MX_CLIENT_ID, else `sandbox-client-id`. */
  clientId?: string;
  /** Default: env MX_API_KEY, else `sandbox-api-key`. */
  apiKey?: string;
  /** Seed of all generated guids and data (default 20111101). */
  seed?: number;
  /** The knobs nested instead of flat (flat ones win where both are given). */
  knobs?: KnobsPatch;
}

export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:4010` (use it as MX_BASE_URL). */
  url: string;
  port: number;
  clientId: string;
  apiKey: string;
  /** `count` users `<prefix>-<n>`, each with one connected MX Bank member (first aggregation done); no HTTP. */
  seedConnectedMembers(count: number, prefix: string): SeededMember[];
  /** The current knobs (read-only view; change them with setKnobs). */
  readonly knobs: SandboxKnobs;
  /** Changes knobs at run time; throws on an out-of-range value. Jobs already running keep their timing/size. */
  setKnobs(patch: KnobsPatch): void;
  /** Requests so far: in all, by HTTP status, and by route (`POST /users/{user_guid}/members/{member_guid}/aggregate`). */
  stats(): { requests: number; byStatus: Record<number, number>; byRoute: Record<string, number> };
  /** The faults the knobs injected so far, by kind (429s and 5xx also show in `stats().byStatus`). */
  faultsInjected(): FaultCounts;
  clock: SandboxClock;
  /**
   * Moves the sandbox clock forward: replays every member's jobs, challenge expiries and MX's background
   * aggregations up to the new now, then sends the webhooks due by then (resolves once they are sent).
   */
  advanceTime(ms: number): Promise<void>;
  /** Every webhook so far (after replaying members to now), oldest first; copies. */
  webhooks(): WebhookRecord[];
  /** Replays members to now and sends the webhooks due (including retries); resolves when done. */
  flushWebhooks(): Promise<void>;
  /** Every bank credential and typed MFA answer received so far (for the secrets scan). */
  secretsReceived(): string[];
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const {
    port = 0,
    host = "127.0.0.1",
    seed = DEFAULT_SEED,
    clientId: id,
    apiKey: key,
    knobs,
    ...flat
  } = options;
  const patch: KnobsPatch = {
    ...knobs,
    ...flat,
    faults: { ...knobs?.faults, ...flat.faults },
    products: { ...knobs?.products, ...flat.products },
    webhooks: { ...knobs?.webhooks, ...flat.webhooks },
  };
  const clientId = id ?? (process.env.MX_CLIENT_ID || DEFAULT_CLIENT_ID);
  const apiKey = key ?? (process.env.MX_API_KEY || DEFAULT_API_KEY);
  const state = new SandboxState(seed, mergeKnobs(DEFAULT_KNOBS, patch));
  let url = "";
  const server = createSandboxServer({ state, clientId, apiKey, baseUrl: () => url });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  url = `http://${urlHost}:${address.port}`;
  const flush = async () => {
    state.advanceAll();
    await state.webhooks.deliverDue(() => state.now());
  };
  const advanceTime = async (ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) throw new Error("advanceTime needs a duration ≥ 0 (ms)");
    state.clockOffsetMs += ms;
    await flush();
  };
  // Webhooks also go out in real time (a job finishing, a retry coming due) while a receiver is set.
  const ticker = setInterval(() => {
    if (state.knobs.webhooks.url === null) return;
    state.advanceAll();
    if (state.webhooks.hasDue(state.now())) void state.webhooks.deliverDue(() => state.now());
  }, 50);
  ticker.unref();
  return {
    url,
    port: address.port,
    clientId,
    apiKey,
    seedConnectedMembers: (count, prefix) => seedConnectedMembers(state, count, prefix),
    get knobs() {
      return structuredClone(state.knobs);
    },
    setKnobs(change) {
      state.knobs = mergeKnobs(state.knobs, change);
    },
    stats: () => structuredClone(state.stats),
    faultsInjected: () => injectedFaults(state),
    clock: { now: () => state.now(), offsetMs: () => state.clockOffsetMs, advance: advanceTime },
    advanceTime,
    webhooks: () => {
      state.advanceAll();
      return structuredClone(state.webhooks.records);
    },
    flushWebhooks: flush,
    secretsReceived: () => [...state.secretsReceived],
    close: () =>
      new Promise<void>((resolve, reject) => {
        clearInterval(ticker);
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

// MX's errors as MX sends them, against the sandbox over HTTP (no mocks): `{"error":{"message":…}}` bodies
// and 429s without Retry-After (MX documents none). The client's backoff must work either way: MX's
// Retry-After when sent, else a real pause that grows — for every call, creates included. Waits are
// recorded instead of slept (the transport's own sleep port), so nothing here depends on wall-clock time.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  MXBANK_PASSWORD_GUID,
  MXBANK_USERNAME_GUID,
  type Sandbox,
  type SandboxKnobs,
  startSandbox,
} from "../local/sandbox/index";
import { connectionPhase } from "../shared/domain/connection";
import { createMxClient, type MxClientOptions } from "../shared/mx/client";
import { MxRateLimitedError } from "../shared/mx/errors";
import type { MxResponseInfo } from "../shared/mx/http";

let sandbox: Sandbox;
let initialKnobs: SandboxKnobs;

beforeAll(async () => {
  sandbox = await startSandbox({ aggregationMs: 40, accountsPerMember: 2, transactionsPerAccount: 20 });
  initialKnobs = sandbox.knobs;
});
afterEach(() => sandbox.setKnobs(initialKnobs));
afterAll(() => sandbox.close());

/** A client on the sandbox with its defaults; waits are recorded instead of slept, responses seen. */
function client(extra: Partial<MxClientOptions> = {}) {
  const waits: number[] = [];
  const responses: MxResponseInfo[] = [];
  const mx = createMxClient({
    baseUrl: sandbox.url,
    credentials: { clientId: sandbox.clientId, apiKey: sandbox.apiKey },
    sleep: async (ms) => {
      waits.push(ms);
    },
    onResponse: (info) => responses.push(info),
    ...extra,
  });
  return { mx, waits, responses };
}

describe("429 as MX sends it: no Retry-After", () => {
  it("pauses at least half a second, then twice as long each time, and says rate limited in the end", async () => {
    // Prepare
    const { mx: calm } = client();
    const user = await calm.createUser({ id: `u-${randomUUID()}` });
    sandbox.setKnobs({ faults: { rate429: 1 } });
    const { mx, waits, responses } = client({ retries: 3 });

    // Act
    const error = await mx.listMembers(user.guid).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MxRateLimitedError);
    expect((error as MxRateLimitedError).retryAfterMs).toBeUndefined();
    expect(responses.map((r) => r.status)).toEqual([429, 429, 429, 429]);
    for (const response of responses) {
      expect(response.body).toEqual({ error: { message: expect.any(String) } });
    }
    expect(waits).toHaveLength(3);
    waits.forEach((wait, n) => {
      expect(wait, `wait ${n + 1}`).toBeGreaterThanOrEqual(500 * 2 ** n);
      expect(wait, `wait ${n + 1}`).toBeLessThan(1000 * 2 ** n);
    });
  });

  it("connects a member through 30 % 429s: every call gets through, creates included, each after a real pause", async () => {
    // Prepare
    sandbox.setKnobs({ faults: { rate429: 0.3 } });
    const { mx, waits } = client({ retries: 8 });
    const before = sandbox.stats().byStatus[429] ?? 0;

    // Act
    const user = await mx.createUser({ id: `u-${randomUUID()}` });
    const member = await mx.createMember(user.guid, {
      institutionCode: "mxbank",
      credentials: [
        { guid: MXBANK_USERNAME_GUID, value: "mxuser" },
        { guid: MXBANK_PASSWORD_GUID, value: "password" },
      ],
      id: `m-${randomUUID()}`,
    });
    let status = await mx.readMemberStatus(user.guid, member.guid);
    for (let polls = 0; connectionPhase(status) === "AGGREGATING" && polls < 200; polls++) {
      await delay(10);
      status = await mx.readMemberStatus(user.guid, member.guid);
    }
    const accounts = await mx.listAccounts(user.guid, member.guid);
    const members = await mx.listMembers(user.guid);

    // Assess
    const rateLimited = (sandbox.stats().byStatus[429] ?? 0) - before;
    expect(status.connection_status).toBe("CONNECTED");
    expect(accounts.items).toHaveLength(2);
    expect(members.items.map((m) => m.guid)).toEqual([member.guid]);
    expect(rateLimited).toBeGreaterThan(0);
    expect(waits).toHaveLength(rateLimited);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(500);
  });
});

describe("429 with Retry-After", () => {
  it("waits exactly what MX asked, whatever the attempt", async () => {
    // Prepare
    const { mx: calm } = client();
    const user = await calm.createUser({ id: `u-${randomUUID()}` });
    sandbox.setKnobs({ faults: { rate429: 1, retryAfterSeconds: 2 } });
    const { mx, waits } = client({ retries: 3 });

    // Act
    const error = await mx.listMembers(user.guid).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MxRateLimitedError);
    expect(waits).toEqual([2000, 2000, 2000]);
  });
});

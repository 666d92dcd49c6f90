// TIMED_OUT seen through the API: an MFA prompt nobody answers, and a bank that never finishes aggregating.
// This file runs its own stack with a short MFA window and a one-second polling limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningAll } from "../local/start";
import { clientFor, createCredentialMember, startE2e, waitForChallenge, waitForSync } from "./fixtures/e2e";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e({
    stack: {
      sandbox: { aggregationMs: 30 },
      waitScale: 0.02,
      // The 600 s MFA window becomes about a second.
      taskTokenTimeoutScale: 0.002,
      env: { POLL_PHASE_LIMIT_SECONDS: "1" },
    },
  });
});
afterAll(async () => {
  await app?.close();
});

describe("TIMED_OUT", () => {
  it("an MFA prompt left unanswered ends TIMED_OUT with a reason; a late answer is refused", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    const challenged = await waitForChallenge(api, member.guid);
    expect(challenged.sync.status).toBe("CHALLENGED");

    // Act: nobody answers.
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(done.sync.status).toBe("TIMED_OUT");
    expect(done.sync.reason).toEqual(expect.any(String));
    expect(done.challenges_waiting).toBe(false);
    const late = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: [{ guid: "CRD-1ec152cd-e628-e81a-e852-d1e7104624da", value: "correct" }],
    });
    expect(late.status).toBe(409);
  });

  it("a bank that keeps aggregating past the polling limit ends TIMED_OUT with a reason", async () => {
    // Prepare: this member's aggregation outlasts the test (jobs keep the timing they started with).
    const sandbox = app.stack.sandbox;
    if (!sandbox) throw new Error("the e2e stack runs on the sandbox");
    const api = await clientFor(app);
    sandbox.setKnobs({ aggregationMs: 600_000 });
    const member = await createCredentialMember(api, "password").finally(() =>
      sandbox.setKnobs({ aggregationMs: 30 }),
    );

    // Act
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(done.sync.status).toBe("TIMED_OUT");
    expect(done.sync.reason).toEqual(expect.any(String));
    expect(done.sync.last_synced_at).toBeNull();
  });
});

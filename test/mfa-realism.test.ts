// MFA as MX really asks it, seen through the API on the embedded stack: every challenge shape passed through
// as the spec shapes it, several rounds with new guids, a challenge MX expires (EXPIRED ends NEEDS_USER with
// its reason, not TIMED_OUT), and answers that come too late (a clear 409, never a 502).
// This file runs its own stack: the 600 s MFA window is scaled to about 6 s so an unanswered wait ends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningAll } from "../local/start";
import type { MemberView } from "../shared/api/schemas";
import {
  type ApiClient,
  clientFor,
  createCredentialMember,
  startE2e,
  waitForChallenge,
  waitForSync,
} from "./fixtures/e2e";

/** MX expires an unanswered challenge after about 5 minutes (the sandbox's challengeExpiryMs). */
const MX_CHALLENGE_EXPIRY_MS = 5 * 60_000;

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e({
    stack: { sandbox: { aggregationMs: 30 }, waitScale: 0.002, taskTokenTimeoutScale: 0.01 },
  });
});
afterAll(async () => {
  await app?.close();
});

const sandbox = () => {
  const running = app.stack.sandbox;
  if (!running) throw new Error("these tests run on the sandbox");
  return running;
};

/** Waits for the next prompt; fails the test when the sync ended instead. */
async function nextPrompt(api: ApiClient, guid: string): Promise<MemberView> {
  const member = await waitForChallenge(api, guid);
  expect(member.challenges_waiting, `sync ended ${member.sync.status}: ${member.sync.reason}`).toBe(true);
  return member;
}

describe("MFA: every challenge shape, as MX sends it", () => {
  it("IMAGE_OPTIONS: each picture with its label, value and data URI; answering with a value syncs", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "image_options");
    await nextPrompt(api, member.guid);

    // Act
    const [prompt, ...others] = await api.challenges(member.guid);

    // Assess
    expect(others).toEqual([]);
    expect(prompt?.type).toBe("IMAGE_OPTIONS");
    const pictures = prompt?.image_options ?? [];
    expect(pictures.length).toBeGreaterThan(1);
    for (const picture of pictures) {
      expect(picture).toMatchObject({ label: expect.any(String), value: expect.any(String) });
      expect(picture.data_uri).toMatch(/^data:image\//);
    }
    const chosen = pictures.find((picture) => picture.value === "correct");
    expect(chosen).toBeDefined();
    await api.answerChallenges(member.guid, [{ guid: prompt?.guid ?? "", value: chosen?.value ?? "" }]);
    expect((await waitForSync(api, member.guid)).sync.status).toBe("SYNCED");
  });

  it.each([
    ["options", "OPTIONS", "options"],
    ["image", "IMAGE_DATA", "image_data"],
    ["token", "TOKEN", "label"],
    ["challenge", "TEXT", "label"],
  ] as const)(
    "password %s: a %s prompt with its %s, answered through the API, syncs",
    async (password, type, field) => {
      // Prepare
      const api = await clientFor(app);
      const member = await createCredentialMember(api, password);
      await nextPrompt(api, member.guid);

      // Act
      const [prompt] = await api.challenges(member.guid);
      const answered = await api.answerChallenges(member.guid, [
        { guid: prompt?.guid ?? "", value: "correct" },
      ]);

      // Assess
      expect(prompt?.type).toBe(type);
      expect(prompt?.[field]).toBeTruthy();
      if (type === "OPTIONS") {
        for (const option of prompt?.options ?? [])
          expect(option).toMatchObject({ label: expect.any(String) });
      }
      expect(answered.challenges_waiting).toBe(false);
      expect((await waitForSync(api, member.guid)).sync.status).toBe("SYNCED");
    },
  );
});

describe("MFA: several rounds", () => {
  it("multi: pick a phone (OPTIONS), then type the code (TEXT), each round with a new guid; the member syncs", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "multi");
    const waiting = await nextPrompt(api, member.guid);
    const [phones] = await api.challenges(member.guid);
    expect(waiting.challenges).toEqual([phones]);
    const phone = phones?.options?.[0]?.value;
    expect(phones?.type).toBe("OPTIONS");
    expect(phone).toEqual(expect.any(String));

    // Act: round 1, then round 2
    await api.answerChallenges(member.guid, [{ guid: phones?.guid ?? "", value: phone ?? "" }]);
    const second = await nextPrompt(api, member.guid);
    const [code] = await api.challenges(member.guid);
    await api.answerChallenges(member.guid, [{ guid: code?.guid ?? "", value: "correct" }]);
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(code?.type).toBe("TEXT");
    expect(code?.guid).not.toBe(phones?.guid);
    expect(second.challenges).toEqual([code]);
    expect(done.sync.status).toBe("SYNCED");
    expect(done.sync.counts?.accounts).toBeGreaterThan(0);
  });
});

describe("MFA: a challenge MX expired", () => {
  it("nobody answers and MX expires it: the run ends NEEDS_USER with the EXPIRED reason, not TIMED_OUT", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    await nextPrompt(api, member.guid);

    // Act: MX's five minutes pass while our wait still runs; then the wait ends unanswered.
    await sandbox().clock.advance(MX_CHALLENGE_EXPIRY_MS + 1_000);
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(done.sync.status).toBe("NEEDS_USER");
    expect(done.connection_status).toBe("EXPIRED");
    expect(done.sync.reason).toMatch(/not answered in time/);
    expect(done.challenges_waiting).toBe(false);
  });

  it("an answer after MX expired it gets 409 no_challenge (never 502), and the run ends NEEDS_USER EXPIRED", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    await nextPrompt(api, member.guid);
    const [prompt] = await api.challenges(member.guid);
    await sandbox().clock.advance(MX_CHALLENGE_EXPIRY_MS + 1_000);

    // Act: the user answers while our run still waits, but MX no longer does (it answers resume 405).
    const late = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: [{ guid: prompt?.guid, value: "correct" }],
    });
    const done = await waitForSync(api, member.guid);

    // Assess
    expect(late.status, late.text).toBe(409);
    expect(late.body.error.code).toBe("no_challenge");
    expect(done.sync.status).toBe("NEEDS_USER");
    expect(done.connection_status).toBe("EXPIRED");
  });

  it("an answer after the run ended gets 409 no_challenge and never reaches MX", async () => {
    // Prepare
    const api = await clientFor(app);
    const member = await createCredentialMember(api, "challenge");
    await nextPrompt(api, member.guid);
    const [prompt] = await api.challenges(member.guid);
    await sandbox().clock.advance(MX_CHALLENGE_EXPIRY_MS + 1_000);
    await waitForSync(api, member.guid);
    const before = sandbox().stats();

    // Act
    const late = await api.post(`/v1/members/${member.guid}/challenges`, {
      challenges: [{ guid: prompt?.guid, value: "correct" }],
    });

    // Assess
    expect(late.status, late.text).toBe(409);
    expect(late.body.error.code).toBe("no_challenge");
    expect(sandbox().stats().byStatus[405] ?? 0).toBe(before.byStatus[405] ?? 0);
  });
});

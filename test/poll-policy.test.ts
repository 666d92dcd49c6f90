// The wait between two MX status polls (nextPollDelaySeconds, what the Poll task returns): what a user
// waiting on a connection notices is how late the end of MX's aggregation is seen, and what MX and the
// bill notice is how many polls it costs. The goals are issue #13's; `npm run bench -- --only polling`
// measures them over random aggregation lengths.
import { describe, expect, it } from "vitest";
import { DEFAULT_POLL_MAX_WAIT_SECONDS, nextPollDelaySeconds } from "../shared/domain/connection";

/** Jitter draws from the lowest to the highest the policy can get. */
const DRAWS = [0, 0.25, 0.5, 0.75, 0.999_999];

describe("nextPollDelaySeconds", () => {
  it("never waits more than a quarter of the time already waited, nor under MX's 3 s floor", () => {
    // Prepare
    const elapsed = Array.from({ length: 901 }, (_, second) => second);

    // Act
    const waits = elapsed.flatMap((seconds) =>
      DRAWS.map((draw) => ({ seconds, wait: nextPollDelaySeconds(seconds, undefined, () => draw) })),
    );

    // Assess: the end of an aggregation of D seconds is seen at most max(3 s, D / 4) after it.
    for (const { seconds, wait } of waits) {
      expect(Number.isInteger(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(3);
      expect(wait).toBeLessThanOrEqual(Math.max(3, seconds / 4));
      expect(wait).toBeLessThanOrEqual(DEFAULT_POLL_MAX_WAIT_SECONDS);
    }
  });

  it("polls a 10-minute aggregation at most 25 times, even when every wait is the shortest the jitter allows", () => {
    // Prepare: the state machine polls 3 s into the phase, then after each returned wait.
    const aggregationSeconds = 600;
    let elapsed = 3;
    let polls = 1;

    // Act
    while (elapsed < aggregationSeconds) {
      elapsed += nextPollDelaySeconds(elapsed, undefined, () => 0);
      polls += 1;
    }

    // Assess
    expect(polls).toBeLessThanOrEqual(25);
  });
});

// Fault injection. Refusals (429, 5xx) are decided BEFORE a request is handled: a faulted request (even a
// POST) had no effect, exactly like a request that an overloaded MX turned away at the door. A dropped
// connection is decided before too (so the seeded sequence does not depend on the route) but happens after:
// the request had its effect and the answer is lost mid-body, as when a connection breaks in flight.
import type { ServerResponse } from "node:http";
import { MxHttpError } from "./errors";
import { MX_MEDIA_TYPE } from "./http";
import type { SandboxState } from "./state";

/** What the sandbox injected so far, by kind. */
export interface FaultCounts {
  rateLimited: number;
  unavailable: number;
  slow: number;
  dropped: number;
}

const counts = new WeakMap<SandboxState, FaultCounts & { burstLeft: number }>();
const countsOf = (state: SandboxState) => {
  let c = counts.get(state);
  if (!c) {
    c = { rateLimited: 0, unavailable: 0, slow: 0, dropped: 0, burstLeft: 0 };
    counts.set(state, c);
  }
  return c;
};

/** The faults injected so far (a copy). */
export function injectedFaults(state: SandboxState): FaultCounts {
  const { rateLimited, unavailable, slow, dropped } = countsOf(state);
  return { rateLimited, unavailable, slow, dropped };
}

/** Delays, then throws the 429/5xx to answer, if any; resolves with whether the answer is to be dropped. */
export async function injectFaults(state: SandboxState): Promise<{ dropAnswer: boolean }> {
  const f = state.knobs.faults;
  const c = countsOf(state);
  // MX documents no Retry-After: send one only when a test asks for it.
  const retryAfter: Record<string, string> =
    f.retryAfterSeconds === null ? {} : { "Retry-After": String(f.retryAfterSeconds) };
  if (f.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, f.latencyMs));
  if (f.slowRate > 0 && state.faultRandom() < f.slowRate) {
    c.slow += 1;
    await new Promise((resolve) => setTimeout(resolve, f.slowMs));
  }
  if (c.burstLeft === 0 && f.burst429Rate > 0 && state.faultRandom() < f.burst429Rate) {
    c.burstLeft = f.burst429Length;
  }
  if (c.burstLeft > 0 || (f.rate429 > 0 && state.faultRandom() < f.rate429)) {
    if (c.burstLeft > 0) c.burstLeft -= 1;
    c.rateLimited += 1;
    throw new MxHttpError(429, "Too Many Requests: slow down and retry later.", retryAfter);
  }
  if (f.rate5xx > 0 && state.faultRandom() < f.rate5xx) {
    c.unavailable += 1;
    if (state.faultRandom() < 0.5)
      throw new MxHttpError(500, "Internal Server Error (injected by the sandbox).");
    throw new MxHttpError(503, "Service Unavailable (injected by the sandbox).", retryAfter);
  }
  const dropAnswer = f.dropRate > 0 && state.faultRandom() < f.dropRate;
  if (dropAnswer) c.dropped += 1;
  return { dropAnswer };
}

/** Sends the status line, the headers and half the body, then breaks the connection. */
export function dropMidBody(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(body === undefined ? "" : JSON.stringify(body));
  res.writeHead(status, {
    "Content-Type": `${MX_MEDIA_TYPE}; charset=utf-8`,
    "Content-Length": text.length,
  });
  res.write(text.subarray(0, Math.floor(text.length / 2)), () => res.destroy());
}

// Fault injection, decided BEFORE a request is handled: a faulted request (even a POST) had no effect,
// exactly like a request that an overloaded MX turned away at the door.
import { MxHttpError } from "./errors";
import type { SandboxState } from "./state";

export async function injectFaults(state: SandboxState): Promise<void> {
  const { latencyMs, rate429, rate5xx, retryAfterSeconds } = state.knobs.faults;
  // MX documents no Retry-After: send one only when a test asks for it.
  const retryAfter: Record<string, string> =
    retryAfterSeconds === null ? {} : { "Retry-After": String(retryAfterSeconds) };
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  if (rate429 > 0 && state.faultRandom() < rate429) {
    throw new MxHttpError(429, "Too Many Requests: slow down and retry later.", retryAfter);
  }
  if (rate5xx > 0 && state.faultRandom() < rate5xx) {
    if (state.faultRandom() < 0.5)
      throw new MxHttpError(500, "Internal Server Error (injected by the sandbox).");
    throw new MxHttpError(503, "Service Unavailable (injected by the sandbox).", retryAfter);
  }
}

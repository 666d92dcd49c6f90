// Time budgets: no MX call outlives its Lambda. Against the MX sandbox over HTTP (its latency and 5xx
// knobs): the client gives up within its budget with MxDeadlineError; an API route facing a slow MX
// answers a JSON 504 before the gateway's own bare 503; a workflow task facing a slow MX fails with an
// error name the synthesized state machine retries, not with a Lambda timeout.
// This file runs its own stack with a 4 s API integration timeout.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningAll } from "../local/start";
import { collectStates } from "../local/workflow/asl";
import { invokeLambda, type LambdaHandler, type LambdaTarget } from "../local/workflow/lambda";
import { errorResponse } from "../shared/api/http";
import { mxBudget } from "../shared/mx/budget";
import { createMxClient } from "../shared/mx/client";
import { MxDeadlineError, MxRateLimitedError, MxUnavailableError } from "../shared/mx/errors";
import { TRANSIENT_MX_ERRORS } from "../shared/sync/contract";
import { clientFor, startE2e } from "./fixtures/e2e";

/** The local API's integration timeout here: handlers get a 4 s Lambda context, so a 3 s MX budget. */
const INTEGRATION_TIMEOUT_MS = 4_000;
/** What the slow MX takes to answer: longer than any budget here, shorter than the client's 10 s timeout + 1. */
const SLOW_MX_MS = 10_000;
const INSTITUTIONS = "GET /institutions";

let app: RunningAll;

beforeAll(async () => {
  app = await startE2e({ integrationTimeoutMs: INTEGRATION_TIMEOUT_MS });
});
afterAll(async () => {
  await app?.close();
});
afterEach(() => {
  sandbox().setKnobs({ faults: { latencyMs: 0, rate5xx: 0, rate429: 0, retryAfterSeconds: null } });
});

function sandbox() {
  const found = app.stack.sandbox;
  if (!found) throw new Error("the e2e stack runs on the sandbox");
  return found;
}

const institutionCalls = () => sandbox().stats().byRoute[INSTITUTIONS] ?? 0;

/**
 * A client on the sandbox with a 3 s budget on a fake clock that only its waits move (so "within the
 * budget" is asserted without reading wall time); an attempt's own timeout still runs in real time.
 */
function budgetedClient(budgetMs: number) {
  const clock = { now: 0 };
  const { url, clientId, apiKey } = sandbox();
  const mx = createMxClient({
    baseUrl: url,
    credentials: { clientId, apiKey },
    baseDelayMs: 1_000,
    random: () => 0.9,
    sleep: async (ms) => {
      clock.now += ms;
    },
    remainingMs: () => budgetMs - clock.now,
  });
  return { mx, clock };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("the MX client within a time budget", () => {
  it("cuts an attempt MX is slow to answer at the budget and says so with MxDeadlineError", async () => {
    // Prepare
    sandbox().setKnobs({ faults: { latencyMs: SLOW_MX_MS } });
    const { mx } = budgetedClient(3_000);
    const before = institutionCalls();

    // Act
    const error = await caught(mx.searchInstitutions({ name: "mx" }));

    // Assess: one attempt, cut at the budget (not after 5 × 10 s), under the name the workflow retries.
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).name).toBe("MxDeadlineError");
    expect(TRANSIENT_MX_ERRORS).toContain((error as MxDeadlineError).name);
    expect(institutionCalls() - before).toBe(1);
  }, 15_000);

  it("stops retrying an MX that keeps failing when the next wait would end past the budget", async () => {
    // Prepare
    sandbox().setKnobs({ faults: { rate5xx: 1 } });
    const { mx, clock } = budgetedClient(3_000);
    const before = institutionCalls();

    // Act
    const error = await caught(mx.searchInstitutions({ name: "mx" }));

    // Assess: waits of 0.9 s then 1.8 s (full jitter at 0.9): the second would leave under 1 s for an
    // attempt, so 2 attempts instead of 5, ending inside the budget with the last failure attached.
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).lastError).toBeInstanceOf(MxUnavailableError);
    expect(institutionCalls() - before).toBe(2);
    expect(clock.now).toBeLessThanOrEqual(3_000);
  });

  it("does not wait for a Retry-After longer than the budget; the API passes MX's Retry-After on", async () => {
    // Prepare
    sandbox().setKnobs({ faults: { rate429: 1, retryAfterSeconds: 5 } });
    const { mx, clock } = budgetedClient(3_000);
    const before = institutionCalls();

    // Act
    const error = await caught(mx.searchInstitutions({ name: "mx" }));
    const { result } = errorResponse(error);

    // Assess
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).lastError).toBeInstanceOf(MxRateLimitedError);
    expect(institutionCalls() - before).toBe(1);
    expect(clock.now).toBe(0);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.["Retry-After"]).toBe("5");
    expect(JSON.parse(String(result.body))).toMatchObject({ error: { code: "upstream_unavailable" } });
  });
});

describe("an API route facing a slow MX", () => {
  it("answers a JSON 504 upstream_timeout before the gateway's integration timeout", async () => {
    // Prepare
    const api = await clientFor(app);
    sandbox().setKnobs({ faults: { latencyMs: SLOW_MX_MS } });
    const before = institutionCalls();

    // Act
    const reply = await api.get("/v1/institutions?name=mx");

    // Assess: the function's own answer, not API Gateway's bare {"message":"Service Unavailable"}.
    expect(reply.status).toBe(504);
    expect(reply.headers.get("content-type")).toContain("application/json");
    expect(reply.body).toMatchObject({ error: { code: "upstream_timeout", message: expect.any(String) } });
    expect(institutionCalls() - before).toBe(1);
  }, 15_000);

  it("answers a JSON 503 upstream_unavailable when MX keeps failing", async () => {
    // Prepare
    const api = await clientFor(app);
    sandbox().setKnobs({ faults: { rate5xx: 1 } });

    // Act
    const reply = await api.get("/v1/institutions?name=mx");

    // Assess
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ error: { code: "upstream_unavailable" } });
  }, 15_000);
});

describe("a workflow task facing a slow MX", () => {
  it("fails with MxDeadlineError, which the state machine's Poll retries, before its Lambda times out", async () => {
    // Prepare: the Poll task as the local runner invokes it, with a 4 s Lambda timeout (3 s of MX budget).
    sandbox().setKnobs({ faults: { latencyMs: SLOW_MX_MS } });
    const target: LambdaTarget = {
      arn: "arn:aws:lambda:us-east-1:000000000000:function:time-budget-poll",
      functionName: "time-budget-poll",
      timeoutSeconds: INTEGRATION_TIMEOUT_MS / 1000,
      load: async () => ((await import("../functions/sync-poll")) as { handler: LambdaHandler }).handler,
    };
    const input = {
      request: {
        userId: "user-time-budget",
        mxUserGuid: "USR-time-budget",
        memberGuid: "MBR-time-budget",
        identify: false,
        mode: "initial",
        trigger: "create",
      },
      syncRun: "run-time-budget",
      phaseStartedAt: Date.now(),
      baseline: null,
    };
    const statusCalls = () =>
      sandbox().stats().byRoute["GET /users/{user_guid}/members/{member_guid}/status"] ?? 0;
    const before = statusCalls();

    // Act
    const error = await caught(invokeLambda(target, input));

    // Assess: the task's own error (not Sandbox.Timedout), and the synthesized Poll state retries it.
    expect(error).toMatchObject({ errorType: "MxDeadlineError" });
    expect(statusCalls() - before).toBe(1);
    const poll = collectStates(app.stack.workflow.definitions.sync ?? {}).get("Poll");
    const retried = (poll?.Retry as { ErrorEquals: string[] }[] | undefined)?.flatMap((r) => r.ErrorEquals);
    expect(retried).toContain("MxDeadlineError");
  }, 15_000);
});

describe("the reserve an invocation keeps after its MX calls", () => {
  it("ends the MX budget before the function's timeout: 2.9 s of an MX route's 29 s, 3 s of a task's 30 s", () => {
    // Prepare
    let remaining = 29_000;
    // Act
    const budget = mxBudget(() => remaining);
    const atStart = budget();
    remaining = 1_000;
    const late = budget();
    // Assess
    expect(atStart).toBe(26_100);
    expect(late).toBeLessThan(0);
    expect(mxBudget(() => 30_000)()).toBe(27_000);
  });
});

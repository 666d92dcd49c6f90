// Transport edges the sandbox cannot produce on demand (hung responses, dropped connections,
// refused connections, malformed bodies) against tiny scripted loopback servers, plus the
// backoff and Retry-After arithmetic. The MX behaviour itself is tested in mx-client.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createMxClient, type MxClientOptions } from "../shared/mx/client";
import {
  MxBadRequestError,
  MxConflictError,
  MxDeadlineError,
  type MxError,
  MxNetworkError,
  MxNotFoundError,
  MxRateLimitedError,
  MxResponseError,
  MxTimeoutError,
  MxUnauthorizedError,
  MxUnavailableError,
} from "../shared/mx/errors";
import { backoffDelay, parseRetryAfter } from "../shared/mx/http";

const CREDENTIALS = { clientId: "client-123", apiKey: "secret-api-key-456" };
const MEMBER_PATH = "/users/USR-1/members/MBR-1";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Scripted {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close: () => Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A loopback server answering each request with the next handler (the last one repeats). */
async function scripted(...handlers: Handler[]): Promise<Scripted> {
  const requests: Scripted["requests"] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const handler = handlers[Math.min(requests.length - 1, handlers.length - 1)];
      handler?.(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { "Content-Type": "application/vnd.mx.api.v1+json", ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
const hang: Handler = () => {};
const drop: Handler = (req) => req.socket.destroy();
const member = { guid: "MBR-1", id: "ours-1", connection_status: "CONNECTED" };

function client(url: string, extra: Partial<MxClientOptions> = {}) {
  const waits: number[] = [];
  const mx = createMxClient({
    baseUrl: url,
    credentials: CREDENTIALS,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  });
  return { mx, waits };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("backoff arithmetic", () => {
  it("draws full jitter below a ceiling that doubles per attempt and stops at the cap", () => {
    // Prepare
    const top = () => 0.999_999;
    // Act
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 200, 8_000, top));
    const lowest = backoffDelay(3, 200, 8_000, () => 0);
    // Assess
    expect(ceilings).toEqual([199, 399, 799, 1599, 3199, 6399, 7999]);
    expect(lowest).toBe(0);
  });

  it("reads Retry-After as seconds or as an HTTP date, and ignores junk", () => {
    // Prepare
    const now = Date.parse("2025-01-01T00:00:00Z");
    // Act / Assess
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:59:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("MX transport edges", () => {
  it("sends basic auth and MX's versioned Accept header, JSON content type only with a body", async () => {
    // Prepare
    const server = await scripted(json(202, { member }));
    const { mx } = client(server.url);
    // Act
    await mx.resumeMember("USR-1", "MBR-1", [{ guid: "CRD-1", value: "answer" }]);
    await mx.readMember("USR-1", "MBR-1");
    // Assess
    const [put, get] = server.requests;
    const basic = `Basic ${Buffer.from("client-123:secret-api-key-456").toString("base64")}`;
    expect(put?.headers.authorization).toBe(basic);
    expect(put?.headers.accept).toBe("application/vnd.mx.api.v1+json");
    expect(put?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(put?.body ?? "")).toEqual({
      member: { challenges: [{ guid: "CRD-1", value: "answer" }] },
    });
    expect(get?.headers["content-type"]).toBeUndefined();
  });

  it("times out a hung response, retries it, and reports MxTimeoutError after the last try", async () => {
    // Prepare
    const server = await scripted(hang);
    const { mx, waits } = client(server.url, { timeoutMs: 50, retries: 2 });
    // Act
    const error = await caught(mx.readMemberStatus("USR-1", "MBR-1"));
    // Assess
    expect(error).toBeInstanceOf(MxTimeoutError);
    expect((error as MxError).name).toBe("MxTimeoutError");
    expect((error as MxError).path).toBe(`${MEMBER_PATH}/status`);
    expect(server.requests).toHaveLength(3);
    expect(waits).toEqual([100, 200]); // random 0.5 × 200·2ⁿ
  });

  it("recovers from a dropped connection on a repeatable call", async () => {
    // Prepare
    const server = await scripted(drop, json(200, { member }));
    const { mx, waits } = client(server.url);
    // Act
    const read = await mx.readMember("USR-1", "MBR-1");
    // Assess
    expect(read.guid).toBe("MBR-1");
    expect(server.requests).toHaveLength(2);
    expect(waits).toHaveLength(1);
  });

  it("does not re-send an MFA answer after a dropped connection (MX may have taken it)", async () => {
    // Prepare
    const server = await scripted(drop, json(202, { member }));
    const { mx } = client(server.url);
    // Act
    const error = await caught(mx.resumeMember("USR-1", "MBR-1", [{ guid: "CRD-1", value: "correct" }]));
    // Assess
    expect(error).toBeInstanceOf(MxNetworkError);
    expect(server.requests).toHaveLength(1);
  });

  it("does not re-send an MFA answer after a 503, but does after a 429 (MX did not act on it)", async () => {
    // Prepare
    const unavailable = await scripted(json(503, { error: { message: "down" } }), json(202, { member }));
    const limited = await scripted(json(429, {}, { "Retry-After": "2" }), json(202, { member }));
    const answers = [{ guid: "CRD-1", value: "correct" }];
    // Act
    const error = await caught(client(unavailable.url).mx.resumeMember("USR-1", "MBR-1", answers));
    const { mx, waits } = client(limited.url);
    const resumed = await mx.resumeMember("USR-1", "MBR-1", answers);
    // Assess
    expect(error).toBeInstanceOf(MxUnavailableError);
    expect(unavailable.requests).toHaveLength(1);
    expect(resumed.guid).toBe("MBR-1");
    expect(limited.requests).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it("retries a refused connection and reports MxNetworkError when nothing ever listens", async () => {
    // Prepare: a port that was just free
    const server = await scripted(hang);
    const url = server.url;
    await server.close();
    servers.pop();
    const { mx, waits } = client(url, { retries: 1 });
    // Act
    const error = await caught(mx.resumeMember("USR-1", "MBR-1", [{ guid: "CRD-1", value: "x" }]));
    // Assess: even resume retries, since the request never left
    expect(error).toBeInstanceOf(MxNetworkError);
    expect((error as MxNetworkError).connectFailed).toBe(true);
    expect(waits).toHaveLength(1);
  });

  it("reports a 2xx body that is not JSON, or that fails our schema, as MxResponseError without values", async () => {
    // Prepare
    const notJson = await scripted((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html>proxy error</html>");
    });
    const wrongShape = await scripted(json(200, { member: { guid: 42, name: "ACCOUNT-NUMBER-1234567" } }));
    // Act
    const first = await caught(client(notJson.url).mx.readMember("USR-1", "MBR-1"));
    const second = await caught(client(wrongShape.url).mx.readMember("USR-1", "MBR-1"));
    // Assess
    expect(first).toBeInstanceOf(MxResponseError);
    expect(notJson.requests).toHaveLength(1);
    expect(second).toBeInstanceOf(MxResponseError);
    expect((second as Error).message).toContain("member.guid");
    expect((second as Error).message).not.toContain("ACCOUNT-NUMBER");
  });

  it("maps each error status to its typed error, carrying MX's body and no secrets", async () => {
    // Prepare
    const cases = [
      [400, MxBadRequestError],
      [422, MxBadRequestError],
      [401, MxUnauthorizedError],
      [403, MxUnauthorizedError],
      [404, MxNotFoundError],
      [409, MxConflictError],
      [429, MxRateLimitedError],
      [500, MxUnavailableError],
      [504, MxUnavailableError],
    ] as const;
    for (const [status, type] of cases) {
      const server = await scripted(json(status, { error: { message: `status ${status}` } }));
      const { mx } = client(server.url, { retries: 0 });
      // Act
      const error = await caught(
        mx.resumeMember("USR-1", "MBR-1", [{ guid: "CRD-1", value: "my-mfa-answer" }]),
      );
      // Assess
      expect(error).toBeInstanceOf(type);
      const typed = error as MxError;
      expect(typed.name).toBe(type.name);
      expect(typed).toMatchObject({ status, method: "PUT", path: `${MEMBER_PATH}/resume` });
      expect(typed.body).toEqual({ error: { message: `status ${status}` } });
      const logged = `${typed.message} ${JSON.stringify(typed)} ${String(typed.stack)}`;
      for (const secret of ["secret-api-key-456", "my-mfa-answer", "Basic "])
        expect(logged).not.toContain(secret);
    }
  });

  it("treats a 404 on a repeated DELETE as done (the first one landed)", async () => {
    // Prepare
    const server = await scripted(drop, json(404, { error: { message: "gone" } }));
    const { mx } = client(server.url);
    // Act
    await mx.deleteMember("USR-1", "MBR-1");
    // Assess
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("caps a long Retry-After at maxDelayMs", async () => {
    // Prepare
    const server = await scripted(json(429, {}, { "Retry-After": "3600" }), json(200, { member }));
    const { mx, waits } = client(server.url, { maxDelayMs: 5_000 });
    // Act
    await mx.readMember("USR-1", "MBR-1");
    // Assess
    expect(waits).toEqual([5_000]);
  });
});

describe("MX transport within a time budget", () => {
  /** A budget on a clock that only the client's waits move: no wall time read. */
  function budgeted(url: string, budgetMs: number, extra: Partial<MxClientOptions> = {}) {
    const clock = { now: 0 };
    const waits: number[] = [];
    const mx = createMxClient({
      baseUrl: url,
      credentials: CREDENTIALS,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
        clock.now += ms;
      },
      remainingMs: () => budgetMs - clock.now,
      ...extra,
    });
    return { mx, waits, clock };
  }

  it("starts no attempt with less than minAttemptMs left", async () => {
    // Prepare
    const server = await scripted(json(200, { member }));
    const { mx } = budgeted(server.url, 900, { minAttemptMs: 1_000 });
    // Act
    const error = await caught(mx.readMember("USR-1", "MBR-1"));
    // Assess
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).lastError).toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });

  it("cuts a hung response at the time left, not at timeoutMs, and does not retry it", async () => {
    // Prepare
    const server = await scripted(hang);
    const { mx } = budgeted(server.url, 1_100, { timeoutMs: 60_000, minAttemptMs: 1_000 });
    // Act
    const error = await caught(mx.readMemberStatus("USR-1", "MBR-1"));
    // Assess
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).lastError).toBeInstanceOf(MxTimeoutError);
    expect((error as MxError).path).toBe(`${MEMBER_PATH}/status`);
    expect(server.requests).toHaveLength(1);
  });

  it("keeps MxTimeoutError and every retry when the budget is larger than the attempts need", async () => {
    // Prepare
    const server = await scripted(hang);
    const { mx, waits } = budgeted(server.url, 60_000, { timeoutMs: 50, retries: 2, minAttemptMs: 10 });
    // Act
    const error = await caught(mx.readMemberStatus("USR-1", "MBR-1"));
    // Assess
    expect(error).toBeInstanceOf(MxTimeoutError);
    expect(server.requests).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
  });

  it("does not look up or create again after a failed create when no attempt fits the budget", async () => {
    // Prepare: after the create's 503, the wait (0.1 s) and a 1.4 s attempt do not fit in 1.45 s.
    const server = await scripted(json(503, {}));
    const { mx, waits } = budgeted(server.url, 1_450, { minAttemptMs: 1_400 });
    // Act
    const error = await caught(mx.createUser({ id: "ours-1" }));
    // Assess
    expect(error).toBeInstanceOf(MxDeadlineError);
    expect((error as MxDeadlineError).lastError).toBeInstanceOf(MxUnavailableError);
    expect(server.requests).toHaveLength(1);
    expect(waits).toEqual([]);
  });
});

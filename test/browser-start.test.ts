// `npm start` as a developer trying the example app runs it: a separate process whose banner names the app's
// URL, the reference and the CORS setting, that puts the sandbox on MX_SANDBOX_PORT, and that refuses a
// CORS_ORIGINS it cannot use instead of silently allowing nothing.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Starts `npm start` (local/start.ts) with `extra` env; resolves once the banner is out, or it exits. */
function npmStart(extra: Record<string, string>): { child: ChildProcess; ready: Promise<string> } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    DEV_JWT_KEY_FILE: join(dir, "dev-jwt-key.json"),
    LOG_LEVEL: "SILENT",
    ...extra,
  };
  for (const name of ["MX_BASE_URL", "MX_CLIENT_ID", "MX_API_KEY"]) delete env[name];
  const child = spawn(process.execPath, ["--import", "tsx", "local/start.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const ready = new Promise<string>((resolve) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ctrl+C stops everything.")) resolve(output);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("exit", () => resolve(output));
  });
  return { child, ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "npm-start-app-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("npm start for the example app", () => {
  it("prints the app's URL, serves it and /docs, and puts the sandbox on MX_SANDBOX_PORT", async () => {
    // Prepare
    const sandboxPort = await freePort();
    const { child, ready } = npmStart({
      MX_SANDBOX_PORT: String(sandboxPort),
      CORS_ORIGINS: "http://localhost:5173",
    });

    try {
      // Act
      const banner = await ready;
      const appUrl = /Example app\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(banner)?.[1] ?? "";
      const app = await fetch(appUrl);
      const docs = await fetch(`${appUrl}docs`);
      const sandbox = await fetch(`http://127.0.0.1:${sandboxPort}/institutions`);

      // Assess
      expect(appUrl, banner).not.toBe("");
      expect(banner).toContain(`MX sandbox   http://127.0.0.1:${sandboxPort}`);
      expect(banner).toMatch(/Reference\s+http:\/\/127\.0\.0\.1:\d+\/docs/);
      expect(banner).toMatch(/CORS\s+http:\/\/localhost:5173/);
      expect(app.status).toBe(200);
      expect(await app.text()).toContain("Connect a bank");
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain("swagger-ui-bundle.js");
      // The sandbox answers there (it wants MX's basic auth, as MX does).
      expect(sandbox.status).toBe(401);
    } finally {
      await stop(child);
    }
  });

  it("refuses a CORS origin with a path: exit code 2 and a line saying why", async () => {
    // Prepare
    const { child, ready } = npmStart({ CORS_ORIGINS: "http://localhost:5173/app" });

    // Act
    const output = await ready;
    const [code] = child.exitCode !== null ? [child.exitCode] : await once(child, "exit");

    // Assess
    expect(code).toBe(2);
    expect(output).toContain('CORS_ORIGINS: CORS origin "http://localhost:5173/app" must be an origin');
  });
});

// `npm start` as a user runs it: a separate process that prints its URLs, accepts a token printed by
// `npm run dev-token` (the two share the development key), and stops cleanly on SIGTERM.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;
let child: ChildProcess;
let output = "";
let apiUrl: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "npm-start-"));
  // PORT=0: a free port. Never real MX: the stack refuses it under a test runner anyway.
  env = { ...process.env, PORT: "0", DEV_JWT_KEY_FILE: join(dir, "dev-jwt-key.json"), LOG_LEVEL: "SILENT" };
  for (const name of ["MX_BASE_URL", "MX_CLIENT_ID", "MX_API_KEY"]) delete env[name];
  child = spawn(process.execPath, ["--import", "tsx", "local/start.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  // Wait for the banner (bounded by the hook timeout), or for the process to die.
  apiUrl = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) resolve(url);
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) =>
      reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`)),
    );
  });
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  await rm(dir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("prints the API's and the sandbox's URLs and how to get a token", () => {
    expect(output).toMatch(/MX sandbox\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain("npm run -s dev-token -- ");
  });

  it("accepts a token from dev-token and refuses a request without one", async () => {
    const { stdout: token } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "local/dev-token.ts", "alice"],
      { env },
    );

    const withToken = await fetch(`${apiUrl}/v1/institutions?name=mx`, {
      headers: { authorization: `Bearer ${token.trim()}` },
    });
    const without = await fetch(`${apiUrl}/v1/members`);

    expect(withToken.status).toBe(200);
    const body = (await withToken.json()) as { institutions: { code: string }[] };
    expect(body.institutions.map((i) => i.code)).toContain("mxbank");
    expect(without.status).toBe(401);
  });

  it("stops cleanly on SIGTERM: exit code 0 and the port closed", async () => {
    const exited = once(child, "exit");

    child.kill("SIGTERM");

    const [code] = await exited;
    expect(code).toBe(0);
    await expect(fetch(`${apiUrl}/v1/members`)).rejects.toThrow();
  });
});

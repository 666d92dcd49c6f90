// `npm run demo` and `npm run demo:mx-guides` as a user runs them: separate processes, offline (the MX
// sandbox on loopback). The demo's printed story is what the user gets, so the test reads it as they would:
// the exit code, each outcome in the summary, and no secret anywhere in what it printed.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_API_KEY } from "../local/sandbox";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];

/** `npm run -s <script>`, with no MX settings inherited (the demos must use the sandbox here). */
async function npmRun(script: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["MX_BASE_URL", "MX_CLIENT_ID", "MX_API_KEY"]) delete env[name];
  // Its own process group, so afterAll can stop npm and the script under it if a run hangs.
  const child = spawn("npm", ["run", "--silent", script], {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

let demo: Run;
let guides: Run;

beforeAll(async () => {
  [demo, guides] = await Promise.all([npmRun("demo"), npmRun("demo:mx-guides")]);
}, 180_000);

afterAll(() => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, "SIGKILL");
    }
  }
});

describe("npm run demo", () => {
  it("exits 0 and says every outcome was as expected", () => {
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    expect(demo.stdout).toContain("Every outcome as expected");
  });

  it("prints the four outcomes in the summary, the synced ones with data", () => {
    const row = (member: string, institution: string, outcome: string) =>
      new RegExp(`${member}\\s+${institution}\\s+${outcome}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+ok`).exec(
        demo.stdout,
      );

    const synced = [row("credentials", "mxbank", "SYNCED"), row("MFA", "mxbank", "SYNCED")];
    const oauth = row("OAuth", "mx_bank_oauth", "SYNCED");
    const refused = row("refused", "mxbank", "NEEDS_USER");

    for (const match of [...synced, oauth]) {
      expect(match, demo.stdout).not.toBeNull();
      expect(Number(match?.[2])).toBeGreaterThan(0);
      expect(Number(match?.[3])).toBeGreaterThan(0);
    }
    expect(refused, demo.stdout).not.toBeNull();
    expect(refused?.slice(1)).toEqual(["0", "0", "0"]);
  });

  it("shows the MFA prompts round by round, the OAuth hops and the refusal's reason", () => {
    expect(demo.stdout).toContain("CHALLENGED (prompt waiting)");
    // The multi-round member: pick where to send the code (OPTIONS with labelled choices), then type it.
    expect(demo.stdout).toMatch(
      /MFA round 1: show[^\n]*\n\s*OPTIONS: ".+"\n\s*choice 1: .+\n\s*choice 2: .+/,
    );
    expect(demo.stdout).toMatch(/MFA round 2: show[^\n]*\n\s*TEXT: ".+"/);
    expect(demo.stdout).toContain("answered 2 MFA rounds");
    expect(demo.stdout).toMatch(/the app\s+\S+\?status=received&member_guid=MBR-/);
    expect(demo.stdout).toMatch(/\/oauth\/window\/… → 200/);
    expect(demo.stdout).toMatch(/\/v1\/oauth\/callback\/…\?status=success&member_guid=MBR-/);
    expect(demo.stdout).toMatch(/reason for the user: ".+"/);
    expect(demo.stdout).toContain("= the sync record's counts");
  });

  it("lets a day pass: each synced member refreshed through MX's webhook, the feed's changes in the app's copy", () => {
    const day = demo.stdout.slice(demo.stdout.indexOf("A day passes"));
    /** The lines printed under a member in the day's step. */
    const linesOf = (label: string) =>
      new RegExp(`\\n {4}${label} \\(MBR-[\\w-]+\\)\\n((?: {6}.+\\n)+)`).exec(day)?.[1] ?? "";

    expect(day, demo.stdout).toMatch(/^A day passes: MX's clock moves 2\d h/);
    for (const label of ["credentials", "MFA", "OAuth"]) {
      const lines = linesOf(label);
      const run = /sync history: webhook → SYNCED, (\d+) rows written, (\d+) removed, (\d+) MX calls/.exec(
        lines,
      );
      expect(run, `${label}:\n${day}`).not.toBeNull();
      expect(Number(run?.[1])).toBeGreaterThan(0);
      expect(Number(run?.[3])).toBeGreaterThan(0);
      expect(lines).toMatch(/event: member\.synced \(trigger webhook, \d+ written/);
      // The day's new rows, and the pending rows MX posted under new guids.
      const feed = /changes feed: \+(\d+) new, (\d+) posted \(pending replaced\), (\d+) removed/.exec(lines);
      expect(feed, `${label}:\n${day}`).not.toBeNull();
      expect(Number(feed?.[1])).toBeGreaterThan(0);
      expect(Number(feed?.[2])).toBeGreaterThan(0);
    }
    // The refused member is not connected: MX does not aggregate it.
    expect(linesOf("refused")).toBe("");
    expect(day).toMatch(/the app's copy: (\d+) transactions = the \1 the list routes serve/);
  });

  it("prints no credential, MFA answer, key, token or OAuth state", () => {
    const printed = `${demo.stdout}\n${demo.stderr}`;

    expect(printed).not.toContain(DEFAULT_API_KEY);
    expect(printed).not.toContain("Bearer");
    // The credential values and the MFA answer (case-sensitive: the field labels "Password" may show).
    const values = [/\bmxuser\b/, /\bpassword\b/, /\bchallenge\b/, /\bmulti\b/, /\bINVALID\b/];
    for (const secret of [...values, /\bcorrect\b/, /\bPHONE_\d\b/]) {
      expect(printed).not.toMatch(secret);
    }
    expect(printed).not.toMatch(/eyJ[\w-]+\.[\w-]+/); // a JWT
    expect(printed).not.toMatch(/[\w-]{16,}\.[\w-]{43}/); // an OAuth state
    expect(printed).not.toMatch(/[A-Za-z0-9_-]{60,}/); // a task token or any other long opaque string
  });
});

describe("npm run demo:mx-guides", () => {
  it("walks both MX guides and exits 0", () => {
    expect(guides.code, `${guides.stdout}\n${guides.stderr}`).toBe(0);
    expect(guides.stdout).toContain("Guide 1");
    expect(guides.stdout).toContain("Guide 2");
    expect(guides.stdout).toMatch(/Done in/);
  });
});

// Runs after every other test file (vitest.config.ts: its own project, groupOrder 1) and reads what all of
// their embedded stacks let out — log lines, API responses, table items, workflow inputs and outputs,
// published events (local/capture.ts) — looking for the secrets those stacks were given: bank credentials and
// typed MFA answers MX received, the MX API key, the webhook password and the OAuth signing key.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CAPTURE_DIR_VARIABLE, type CaptureKind, type Needle } from "../local/capture";

interface Captured {
  kind: CaptureKind;
  source: string;
  text: string;
}

interface Hit {
  what: string;
  kind: CaptureKind;
  source: string;
  excerpt: string;
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Where `needle` occurs in `text`: anywhere, or (short test words) only as a whole JSON string value. */
function occurs(needle: Needle, text: string): { at: number; text: string } {
  if (needle.match === "substring") return { at: text.indexOf(needle.value), text };
  // A JSON string equal to the value, and not an object key; JSON inside JSON (a log line's payload, a
  // workflow input) is unescaped first.
  const unescaped = text.replace(/\\+"/g, '"');
  return { at: unescaped.search(new RegExp(`"${escapeRegExp(needle.value)}"(?!\\s*:)`)), text: unescaped };
}

function scan(needles: readonly Needle[], captured: readonly Captured[]): Hit[] {
  const hits: Hit[] = [];
  for (const item of captured) {
    for (const needle of needles) {
      const { at, text } = occurs(needle, item.text);
      if (at < 0) continue;
      const excerpt = text.slice(Math.max(0, at - 60), at + 60).replaceAll(needle.value, "«secret»");
      hits.push({ what: needle.what, kind: item.kind, source: item.source, excerpt });
    }
  }
  return hits;
}

function readLines<T>(dir: string, prefix: string): T[] {
  return readdirSync(dir)
    .filter((file) => file.startsWith(prefix))
    .flatMap((file) => readFileSync(join(dir, file), "utf8").split("\n"))
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

describe("secrets scan", () => {
  it("finds a planted secret in each place the product lets text out (the scan can fail)", () => {
    // Prepare
    const needles: Needle[] = [
      { what: "MX API key", value: "sk-planted-0123456789", match: "substring" },
      { what: "bank credential", value: "challenge", match: "jsonValue" },
    ];
    const captured: Captured[] = [
      { kind: "log", source: "stdout", text: '{"level":"INFO","message":"key sk-planted-0123456789"}' },
      { kind: "table", source: "t", text: '{"pk":"MEMBER#1","password":"challenge"}' },
      { kind: "workflow", source: "e", text: '{"input":"{\\"value\\":\\"challenge\\"}"}' },
      { kind: "response", source: "200", text: '{"status":"CHALLENGED","challenges":[]}' },
      { kind: "event", source: "member.synced", text: '{"detail":{"challenge":{"type":"TEXT"}}}' },
    ];

    // Act
    const hits = scan(needles, captured);

    // Assess: the three leaks, not the ordinary words ("CHALLENGED", a "challenge" key)
    expect(hits.map((h) => `${h.kind}:${h.what}`)).toEqual([
      "log:MX API key",
      "table:bank credential",
      "workflow:bank credential",
    ]);
    expect(hits.map((h) => h.excerpt).join()).not.toContain("sk-planted");
  });

  it("finds no secret in anything the whole suite's stacks let out", (context) => {
    // Prepare: the capture of this run (absent when this file runs alone, without the suite before it)
    const dir = process.env[CAPTURE_DIR_VARIABLE];
    const files = dir ? safeList(dir) : [];
    if (!dir || !files.some((file) => file.startsWith("out-"))) {
      context.skip("no capture: run the whole suite (`npm test`) for the scan");
      return;
    }
    const needles = dedupe(readLines<Needle>(dir, "needles-"));
    const captured = readLines<Captured>(dir, "out-");

    // Act
    const hits = scan(needles, captured);

    // Assess: a real capture (every place the product writes to was exercised), then no secret in it
    const byKind = Object.fromEntries(
      (["log", "response", "table", "workflow", "event"] as const).map((kind) => [
        kind,
        captured.filter((c) => c.kind === kind).length,
      ]),
    );
    const processes = new Set(files.filter((f) => f.startsWith("out-")).map((f) => f.slice(4))).size;
    console.log(
      `secrets scan: ${processes} stacks, ${needles.length} secrets, ${JSON.stringify(byKind)} items, ${hits.length} hits`,
    );
    for (const [kind, count] of Object.entries(byKind)) expect(count, kind).toBeGreaterThan(0);
    expect(needles.map((n) => n.what)).toEqual(
      expect.arrayContaining([
        "MX API key",
        "OAuth state signing key",
        "MX webhook password",
        "bank credential",
      ]),
    );
    expect(hits).toEqual([]);
  });
});

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function dedupe(needles: Needle[]): Needle[] {
  return [...new Map(needles.map((n) => [`${n.match}:${n.value}`, n])).values()];
}

// The secrets scan's recorder. When MX_CONNECT_CAPTURE_DIR is set (vitest sets it for the whole suite), every
// embedded stack writes down what the product let out — log lines, API response bodies, table items, workflow
// inputs and outputs, published events — and the secrets it was given (bank credentials and MFA answers MX
// received, the MX key, the webhook password, the OAuth signing key). test/secrets-scan.test.ts runs after
// every other test file and looks for the second in the first. Nothing here runs unless the variable is set.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { LocalEventBridge } from "./aws/events";
import type { LocalStepFunctions } from "./workflow/executions";

export const CAPTURE_DIR_VARIABLE = "MX_CONNECT_CAPTURE_DIR";

/** What a capture line holds: where the product let the text out. */
export type CaptureKind = "log" | "response" | "table" | "workflow" | "event";

/** A secret the scan looks for: `substring` anywhere, `jsonValue` as a whole JSON string value. */
export interface Needle {
  what: string;
  value: string;
  match: "substring" | "jsonValue";
}

const dir = (): string | undefined => process.env[CAPTURE_DIR_VARIABLE] || undefined;

function append(file: string, line: string): void {
  const target = dir();
  if (!target) return;
  mkdirSync(target, { recursive: true });
  appendFileSync(join(target, `${file}-${process.pid}.jsonl`), `${line}\n`);
}

/** Records what the product let out (one JSON line per artifact). */
export function capture(kind: CaptureKind, source: string, text: string): void {
  append("out", JSON.stringify({ kind, source, text }));
}

/** Records secrets the scan must never find in what was captured. */
export function captureNeedles(needles: readonly Needle[]): void {
  for (const needle of needles) if (needle.value) append("needles", JSON.stringify(needle));
}

export const captureEnabled = (): boolean => dir() !== undefined;

let hooked = false;
/**
 * Copies everything this process writes to stdout/stderr into the capture (the Powertools logger writes
 * there directly). Structured log lines (`{"level":…`) go to the capture only, so a suite run at
 * LOG_LEVEL=DEBUG keeps a quiet terminal; anything else is also written through.
 */
export function captureProcessOutput(): void {
  if (hooked || !captureEnabled()) return;
  hooked = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
      if (text) capture("log", stream === process.stdout ? "stdout" : "stderr", text);
      if (text.startsWith('{"level":')) {
        const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
        callback?.();
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** What a stack holds at its end, for `captureStack`. */
export interface CapturedStack {
  dynamo: DynamoDBClient;
  stepFunctions: LocalStepFunctions;
  stateMachineArns: readonly string[];
  events: LocalEventBridge;
}

/** Records every table item, every execution's inputs and outputs and every published event. */
export async function captureStack(stack: CapturedStack): Promise<void> {
  if (!captureEnabled()) return;
  for (const event of stack.events.published()) capture("event", event.detailType, JSON.stringify(event));
  for (const stateMachineArn of stack.stateMachineArns) {
    let nextToken: string | undefined;
    do {
      const page = stack.stepFunctions.listExecutions({ stateMachineArn, maxResults: 1000, nextToken });
      for (const { executionArn } of page.executions) {
        const { input, output } = stack.stepFunctions.describeExecution({ executionArn });
        capture("workflow", executionArn, JSON.stringify({ input, output }));
        for (const entry of stack.stepFunctions.history(executionArn)) {
          capture("workflow", executionArn, JSON.stringify(entry));
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
  const doc = DynamoDBDocumentClient.from(stack.dynamo);
  const { TableNames = [] } = await stack.dynamo.send(new ListTablesCommand({}));
  for (const TableName of TableNames) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName, ExclusiveStartKey }));
      for (const item of page.Items ?? []) capture("table", TableName, JSON.stringify(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
}

/**
 * A secret as the scan looks for it: keys and other random values anywhere; words (MX's test passwords such
 * as `challenge` or `image_options`, the username `mxuser`), which also occur in ordinary text and as field
 * names, only as a whole JSON string value.
 */
export function secretNeedle(what: string, value: string): Needle {
  const word = /^[A-Za-z_]+$/.test(value) && value.length < 24;
  return { what, value, match: word || value.length < 8 ? "jsonValue" : "substring" };
}

/**
 * Needles for what MX received from users. MX's upper-case test passwords (`LOCKED`, `INVALID`, …) are also
 * MX's status names, which the product rightly stores and returns, so they cannot be told from a leak.
 */
export function bankSecretNeedles(values: readonly string[]): Needle[] {
  return values
    .filter((value) => !/^[A-Z_]+$/.test(value))
    .map((value) => secretNeedle("bank credential", value));
}

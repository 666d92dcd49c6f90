// A member with more than 1,000 transaction pages in one window syncs on the embedded stack: the window's
// pages are listed in chunks (States.ArrayRange returns at most 1,000 items, which the local runner enforces
// as AWS does) and every row is stored exactly once. Affordable by the sandbox's maxTransactionsPerPage knob:
// pages of one transaction, so the ~1,100 transactions of MX's 90 days make ~1,100 pages (MX's hold 1,000).
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMxbankMember } from "../local/sandbox-member";
import { type LocalStack, startLocalStack } from "../local/stack";
import { checkAgainstMx } from "./bank-truth";

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    sandbox: { aggregationMs: 20, accountsPerMember: 1, transactionsPerAccount: 4_500, pendingPerAccount: 0 },
    waitScale: 0.002,
    mxRetry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("a member with more than 1,000 transaction pages", () => {
  it("syncs every page and stores every transaction exactly once", async () => {
    // Prepare: MX serves one transaction a page
    const sandbox = stack.sandbox;
    if (!sandbox) throw new Error("this test needs the sandbox");
    const { request } = await connectMxbankMember({ mx: stack.mx, members: stack.stores.members }, "good");
    sandbox.setKnobs({ maxTransactionsPerPage: 1 });
    const pageReadsBefore =
      sandbox.stats().byRoute["GET /users/{user_guid}/members/{member_guid}/transactions"] ?? 0;

    // Act
    const cpuAtStart = process.cpuUsage();
    const startedAt = Date.now();
    const { executionArn } = stack.workflow.startExecution(request, `big-${randomUUID()}`);
    const result = await stack.workflow.waitForExecution(executionArn);

    // Assess
    const cpu = process.cpuUsage(cpuAtStart);
    const seconds = (Date.now() - startedAt) / 1000;
    sandbox.setKnobs({ maxTransactionsPerPage: 1000 });
    expect(result).toMatchObject({ status: "SUCCEEDED", output: { outcome: "SYNCED" } });
    const pageReads =
      (sandbox.stats().byRoute["GET /users/{user_guid}/members/{member_guid}/transactions"] ?? 0) -
      pageReadsBefore;
    console.log(
      `big member: ${pageReads} transaction pages read in ${seconds.toFixed(1)} s, ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s (load average ${loadavg()[0]?.toFixed(1)})`,
    );
    expect(pageReads).toBeGreaterThan(1_000);
    const check = await checkAgainstMx({ mx: stack.mx, stores: stack.stores }, request);
    expect(check.rows).toBeGreaterThan(1_000);
    expect(check.mismatches).toEqual([]);
    const member = await stack.stores.members.getMember(request.userId, request.memberGuid);
    expect(member?.sync).toMatchObject({ outcome: "SYNCED", counts: { transactions: check.rows - 1 } });
  }, 180_000);
});

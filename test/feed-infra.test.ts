// The changes feed in the CDK stack: the retention (context or stack prop `changeRetentionDays`) reaches
// every function that has the table, so writers (TTL) and the feed (410 after it) agree; the feed's own
// function may read the table and nothing more.
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { buildApp, SKIP_BUNDLING } from "../infra/build";

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

function functions(context: Record<string, unknown>) {
  const { stack } = buildApp({ context: { ...SKIP_BUNDLING, ...context }, nag: false });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::Lambda::Function")
    .map((r) => ({
      entry: String(r.Metadata?.["mx-connect:entry"] ?? ""),
      env: ((r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>,
    }))
    .filter((fn) => fn.entry.startsWith("functions/"));
}

describe("changeRetentionDays", () => {
  it("reaches every function with the table, and only those", () => {
    // Act
    const all = functions({ changeRetentionDays: "7" });

    // Assess
    const withTable = all.filter((fn) => fn.env.TABLE_NAME !== undefined);
    expect(withTable.map((fn) => fn.entry)).toContain("functions/api-transactions-sync.ts");
    expect(withTable.map((fn) => fn.entry)).toContain("functions/sync-transactions-page.ts");
    for (const fn of withTable) expect([fn.entry, fn.env.CHANGE_RETENTION_DAYS]).toEqual([fn.entry, "7"]);
    for (const fn of all.filter((f) => f.env.TABLE_NAME === undefined)) {
      expect(fn.env.CHANGE_RETENTION_DAYS, fn.entry).toBeUndefined();
    }
  });

  it("is left to the code's default when not given, and refused when not a whole number of days", () => {
    // Act
    const all = functions({});
    const bad = () => functions({ changeRetentionDays: "0.5" });

    // Assess
    expect(all.some((fn) => fn.env.CHANGE_RETENTION_DAYS !== undefined)).toBe(false);
    expect(bad).toThrow(/changeRetentionDays/);
  });
});

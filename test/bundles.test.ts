// What each Lambda bundle loads at a cold start: a route that neither calls MX nor signs anything must not
// carry the MX client or Secrets Manager (shared/api/deps.ts takes them as adapters from the handlers).
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { LAMBDA_BUNDLING } from "../infra/bundling";
import { esbuildOptions } from "../local/bench/cold-start";

const root = join(import.meta.dirname, "..");

/** The npm packages and project folders a function's bundle holds, built as `cdk synth` builds it. */
async function bundleInputs(entry: string): Promise<string[]> {
  const { metafile } = await build({
    ...esbuildOptions(LAMBDA_BUNDLING, join(root, entry), join(root, "cdk.out", "bundle-test", "index.mjs")),
    write: false,
  });
  return Object.keys(metafile?.inputs ?? {});
}

const holds = (inputs: string[], part: string) => inputs.some((input) => input.includes(part));

describe("Lambda bundles", () => {
  it("leave the MX client and Secrets Manager out of the read routes, and keep them where MX is called", async () => {
    // Prepare / Act
    const [getMember, listTransactions, createMember] = await Promise.all([
      bundleInputs("functions/api-get-member.ts"),
      bundleInputs("functions/api-list-transactions.ts"),
      bundleInputs("functions/api-create-member.ts"),
    ]);

    // Assess
    for (const inputs of [getMember, listTransactions]) {
      expect(holds(inputs, "@aws-sdk/client-secrets-manager")).toBe(false);
      expect(holds(inputs, "shared/mx/client.ts")).toBe(false);
      expect(holds(inputs, "@aws-sdk/client-sfn")).toBe(false);
    }
    expect(holds(createMember, "@aws-sdk/client-secrets-manager")).toBe(true);
    expect(holds(createMember, "shared/mx/client.ts")).toBe(true);
  });
});

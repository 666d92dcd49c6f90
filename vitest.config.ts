import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own loopback servers on ephemeral ports, so files may run in parallel.
    pool: "forks",
    // The SDK warns once per process that Node 20 support ends in 2027; the README says so once instead.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});

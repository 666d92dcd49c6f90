import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { CAPTURE_DIR_VARIABLE } from "./local/capture";

// Where every embedded stack of this run records what it let out, for test/secrets-scan.test.ts; one folder
// per run (test/global-setup.ts removes it at the end). Set here so that spawned processes inherit it too.
const captureDir = join(tmpdir(), `mx-connect-capture-${process.pid}`);
process.env[CAPTURE_DIR_VARIABLE] = captureDir;

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own loopback servers on ephemeral ports, so files may run in parallel.
    pool: "forks",
    env: {
      // The SDK warns once per process that Node 20 support ends in 2027; the README says so once instead.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      [CAPTURE_DIR_VARIABLE]: captureDir,
      // Every log line is written, so the secrets scan reads all of them (they go to the capture, not the terminal).
      LOG_LEVEL: "DEBUG",
    },
    projects: [
      {
        extends: true,
        test: { name: "suite", include: ["test/**/*.test.ts"], exclude: ["test/secrets-scan.test.ts"] },
      },
      {
        // After every other file: it reads what they all let out.
        extends: true,
        test: { name: "secrets-scan", include: ["test/secrets-scan.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
  },
});

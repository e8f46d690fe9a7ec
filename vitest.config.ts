import { defineConfig } from "vitest/config";
import os from "node:os";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.test.ts", "test/**/*.test.ts"],
    environment: "node",
    // Prunes in tests write to a witness file of this run, not to ./data.
    env: {
      SANDBOX_CONSOLE_AUDIT_WITNESS: path.join(os.tmpdir(), `sandbox-console-vitest-${process.pid}-witness.jsonl`),
    },
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one private LXD daemon and one database.
    fileParallelism: false,
  },
});

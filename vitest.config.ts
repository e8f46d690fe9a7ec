import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.test.ts", "test/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one private LXD daemon and one database.
    fileParallelism: false,
  },
});

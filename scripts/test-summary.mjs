// Prints one closing line "tests: N passed, N failed" over the JSON reports
// of Vitest and Playwright, and exits 1 when a report is missing or no test ran.
import { existsSync, readFileSync } from "node:fs";

const [vitestPath, playwrightPath] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let missing = false;

if (vitestPath && existsSync(vitestPath)) {
  const report = JSON.parse(readFileSync(vitestPath, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
} else {
  console.error(`No Vitest report at ${vitestPath}`);
  missing = true;
}

if (playwrightPath && existsSync(playwrightPath)) {
  const report = JSON.parse(readFileSync(playwrightPath, "utf8"));
  passed += report.stats.expected + report.stats.flaky;
  failed += report.stats.unexpected;
  skipped += report.stats.skipped;
} else {
  console.error(`No Playwright report at ${playwrightPath}`);
  missing = true;
}

console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(missing || failed > 0 || passed === 0 ? 1 : 0);

import { userInfo } from "node:os";
import { parseArgs } from "node:util";

import { parseCutPoint, planAuditPrune, pruneAuditLog } from "@/lib/audit/prune";
import { closeDb } from "@/lib/db/client";
import { openScriptDatabase } from "./open-database";
import { assertMigrated } from "@/lib/db/migrate";
import { ConsoleError } from "@/lib/errors";

// Removes audit rows older than a cut point, the only way rows leave the
// audit log. Without --yes it only prints how many rows would go.
//
//   tsx scripts/prune-audit.ts --before 2026-01-31 [--yes]
//   tsx scripts/prune-audit.ts --keep-days 365 [--yes]

const usage =
  "Usage: tsx scripts/prune-audit.ts (--before DATE | --keep-days N) [--yes]\n" +
  "Removes the audit rows older than DATE (ISO 8601, such as 2026-01-31 for\n" +
  "midnight UTC, or 2026-01-31T12:00:00Z) or older than N whole days. Without\n" +
  "--yes it prints how many rows would be removed and changes nothing. The\n" +
  "prune is recorded in the audit log as audit.retention.prune.\n";

let parsed;
try {
  parsed = parseArgs({
    options: {
      before: { type: "string" },
      "keep-days": { type: "string" },
      yes: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

let cut;
try {
  cut = parseCutPoint({ before: parsed.values.before, keepDays: parsed.values["keep-days"] });
} catch (error) {
  process.stderr.write(`prune-audit: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}

const db = openScriptDatabase("prune-audit");
try {
  await assertMigrated(db);
  const plan = await planAuditPrune(db, cut.before);
  const cutText = cut.before.toISOString();

  if (!parsed.values.yes) {
    process.stdout.write(
      plan.rows === 0
        ? `No audit rows are older than ${cutText}.\n`
        : `${plan.rows} audit rows (ids ${plan.firstId} to ${plan.lastId}) are older than ${cutText}. ` +
            "Run again with --yes to remove them.\n",
    );
  } else {
    const result = await pruneAuditLog(db, {
      before: cut.before,
      actor: { system: `prune-audit (${userInfo().username})` },
      expectedRows: plan.rows,
      details: cut.details,
    });
    process.stdout.write(
      result.rows === 0
        ? `No audit rows are older than ${cutText}; the prune is recorded as row ${result.record.id}.\n`
        : `Removed ${result.rows} audit rows older than ${cutText} (ids ${result.firstId} to ${result.lastId}). ` +
            `The chain now starts after hash ${result.lastRemovedHash}, recorded in row ${result.record.id}.\n`,
    );
    if (result.witnessError) {
      process.stderr.write(
        `prune-audit: the prune is done, but writing it to the witness file failed: ${result.witnessError} ` +
          "Until its line is in the console's witness file, Verify chain reports this prune as unwitnessed.\n",
      );
      process.exitCode = 1;
    } else {
      process.stdout.write(`The prune is written to the witness file ${result.witnessFile}.\n`);
    }
  }
} catch (error) {
  // A script's user runs it on the server, so unexpected errors are shown
  // in full rather than as the console's generic message.
  const message = error instanceof ConsoleError ? error.message : String(error);
  process.stderr.write(`prune-audit: ${message}\n`);
  process.exitCode = 1;
} finally {
  await closeDb(db);
}

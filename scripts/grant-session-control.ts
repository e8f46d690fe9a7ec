import { parseArgs } from "node:util";

import { findAccountIdByEmail, setSessionControl } from "@/lib/auth/accounts";
import { closeDb } from "@/lib/db/client";
import { openScriptDatabase } from "./open-database";
import { userMessage } from "@/lib/errors";

// Grants a support user control of sandbox sessions, or takes it back.
// Admins control sessions by their role and auditors never do.
//
//   tsx scripts/grant-session-control.ts EMAIL            grant
//   tsx scripts/grant-session-control.ts EMAIL --revoke   revoke

const usage =
  "Usage: tsx scripts/grant-session-control.ts EMAIL [--revoke]\n" +
  "Grants (or with --revoke, removes) a support user's right to take control " +
  "of sandbox sessions. The change is recorded in the audit log.\n";

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { revoke: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const [email, ...extra] = parsed.positionals;
if (!email || extra.length > 0) {
  process.stderr.write(`Expected exactly one EMAIL, got ${parsed.positionals.length}.\n${usage}`);
  process.exit(2);
}

const granted = !parsed.values.revoke;
const db = openScriptDatabase("grant-session-control");
try {
  // The same change as the accounts page's, audited with before and after.
  const userId = await findAccountIdByEmail(db, email);
  const user = await setSessionControl(
    db,
    { actor: { system: "grant-session-control" }, userId: null },
    { userId, granted },
  );
  process.stdout.write(
    `${user.email} ${granted ? "may now take" : "may no longer take"} control of sandbox sessions.\n`,
  );
} catch (error) {
  process.stderr.write(`grant-session-control: ${userMessage(error)}\n`);
  process.exitCode = 1;
} finally {
  await closeDb(db);
}

import { closeDb } from "@/lib/db/client";
import { openScriptDatabase } from "./open-database";
import { ensureFirstAdmin, resetAdminPassword } from "@/lib/auth/users";
import { assertMigrated } from "@/lib/db/migrate";
import { userMessage } from "@/lib/errors";
import { log } from "@/lib/log";

// Creates the first admin account, or with --reset gives the admin a new
// random password. The password is printed once here and stored only as a
// hash, so it cannot be shown again.
//
//   tsx scripts/create-admin.ts           create the admin if none exists
//   tsx scripts/create-admin.ts --reset   set a new password for the admin

const reset = process.argv.includes("--reset");
const db = openScriptDatabase("create-admin");

function printCredentials(heading: string, email: string, password: string) {
  const lines = [
    heading,
    "",
    `  Email:    ${email}`,
    `  Password: ${password}`,
    "",
    "This password is shown only once. Sign in and change it, or run",
    "`tsx scripts/create-admin.ts --reset` to set a new one.",
  ];
  process.stdout.write(`\n${lines.join("\n")}\n\n`);
}

try {
  // Without the tables every query fails with a bare "relation does not
  // exist", so the error names the command that creates them.
  await assertMigrated(db);

  if (reset) {
    const { email, password } = await resetAdminPassword(db);
    printCredentials(
      "Admin password reset; existing sessions are signed out.",
      email,
      password,
    );
  } else {
    const result = await ensureFirstAdmin(db);
    if (result.created) {
      printCredentials(
        "Created the first admin account.",
        result.email,
        result.password,
      );
    } else {
      process.stdout.write(
        `An admin account already exists (${result.email}); nothing was changed.\n` +
          "To set a new password for it, run: tsx scripts/create-admin.ts --reset\n",
      );
    }
  }
} catch (error) {
  log.error({ err: error, reset }, "create-admin failed");
  process.stderr.write(`create-admin failed: ${userMessage(error)}\n`);
  process.exitCode = 1;
} finally {
  await closeDb(db);
}

import { createDb, type Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";

/**
 * Opens the console's database for a command-line script. When it cannot be
 * opened for a reason the user can act on, such as the running console
 * holding the embedded PGlite database, prints the reason prefixed with
 * `scriptName` and exits with status 1.
 */
export function openScriptDatabase(scriptName: string): Db {
  try {
    return createDb();
  } catch (error) {
    if (!(error instanceof ConsoleError)) throw error;
    process.stderr.write(`${scriptName}: ${error.message}\n`);
    process.exit(1);
  }
}

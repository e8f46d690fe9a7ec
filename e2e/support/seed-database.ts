// Prepares the test database for the end-to-end run: applies the migrations,
// empties the console's tables and creates the accounts the specs sign in
// with. Run by the Playwright global setup through tsx.
import { closeDb } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { createUser } from "@/lib/auth/users";
import { e2eAccounts } from "./accounts";

const db = await openTestDb();
try {
  await truncateTables(db);
  for (const account of Object.values(e2eAccounts)) {
    await createUser(db, account);
  }
} finally {
  await closeDb(db);
}

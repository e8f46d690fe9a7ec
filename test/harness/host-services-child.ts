// Starts the console's host services the way server.ts does, in a process
// of its own, so a test can read everything the console logs. It prints
// the hosts page's rows as one line "ROWS <json>" and exits. Run it with
// tsx, with DATABASE_URL and SANDBOX_CONSOLE_HOSTS pointing at test
// resources.

import { closeDb, getDb } from "@/lib/db/client";
import { listHostRows } from "@/lib/hosts/host-rows";
import { startHostServices } from "@/lib/hosts/startup";

async function main(): Promise<void> {
  const services = await startHostServices();
  await services.fleet.ready();

  const rows = await listHostRows(getDb(), services.fleet);
  process.stdout.write(`ROWS ${JSON.stringify(rows)}\n`);

  services.stopRetrying();
  services.ingester.stop();
  services.fleet.stop();
  await closeDb(getDb());
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`host services failed: ${String(error)}\n`);
    process.exit(1);
  },
);

// Opens the PGlite folder given as the first argument, prints "ready" and
// keeps it open until killed. Used by the PGlite lock test as the other process.
import { createDb } from "@/lib/db/client";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: tsx test/harness/hold-pglite.ts PGLITE_DIR");
  process.exit(2);
}
createDb(undefined, { pgliteDir: dir });
console.log("ready");
setInterval(() => undefined, 60_000);

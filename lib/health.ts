import { sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { listHosts } from "@/lib/hosts/registry";
import { log } from "@/lib/log";

/** The result of one health check: ok, or the problem in a sentence. */
export type CheckResult = { ok: true } | { ok: false; error: string };

/** The body of /api/health. `error` repeats the first failed check's error. */
export interface HealthReport {
  ok: boolean;
  error?: string;
  checks: { database: CheckResult; hosts: CheckResult };
}

/**
 * Checks what the console needs to serve requests: a test query on the
 * database and the configured hosts, which come from the file named by
 * SANDBOX_CONSOLE_HOSTS when it is set.
 */
export async function checkHealth(db: Db): Promise<HealthReport> {
  const checks = {
    database: await checkDatabase(db),
    hosts: checkHosts(),
  };
  const failed = Object.values(checks).find((check) => !check.ok);

  if (failed && !failed.ok) return { ok: false, error: failed.error, checks };
  return { ok: true, checks };
}

async function checkDatabase(db: Db): Promise<CheckResult> {
  try {
    await db.execute(sql`select 1`);
    return { ok: true };
  } catch (error) {
    log.error({ err: error }, "health check: database query failed");
    return { ok: false, error: "The database is not reachable." };
  }
}

function checkHosts(): CheckResult {
  try {
    listHosts();
    return { ok: true };
  } catch (error) {
    log.error(
      { err: error, hostsFile: process.env.SANDBOX_CONSOLE_HOSTS },
      "health check: hosts configuration is invalid",
    );
    // The registry's errors name the file and the problem.
    return { ok: false, error: userMessage(error) };
  }
}

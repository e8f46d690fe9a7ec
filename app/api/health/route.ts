import { sql } from "drizzle-orm";
import { NextResponse } from "next/server";
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

export const dynamic = "force-dynamic";

/**
 * Returns 200 {ok: true} when a test query on the database succeeds and 503
 * {ok: false} otherwise. It needs no sign-in, so scripts can poll it to wait
 * for the console to start.
 */
export async function GET(): Promise<NextResponse> {
  try {
    await getDb().execute(sql`select 1`);
    return NextResponse.json({ ok: true });
  } catch (error) {
    log.error({ err: error }, "health check: database query failed");
    return NextResponse.json(
      { ok: false, error: "The database is not reachable." },
      { status: 503 },
    );
  }
}

import { NextResponse } from "next/server";
import { getDb } from "@/lib/db/client";
import { checkHealth, type HealthReport } from "@/lib/health";

export const dynamic = "force-dynamic";

/**
 * Returns 200 {ok: true} when a test query on the database succeeds and the
 * hosts configuration loads, and 503 {ok: false, error} naming the problem
 * otherwise. It needs no sign-in, so scripts can poll it to wait for the
 * console to start.
 */
export async function GET(): Promise<NextResponse<HealthReport>> {
  const report = await checkHealth(getDb());
  return NextResponse.json(report, { status: report.ok ? 200 : 503 });
}

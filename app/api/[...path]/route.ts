import { unknownApiRoute } from "@/lib/api-not-found";
import { errorJson } from "@/lib/http";

export const dynamic = "force-dynamic";

// Every /api path that no other route handler matches lands here, so API
// clients get a JSON error instead of Next's HTML 404 page. Next.js matches
// static segments and deeper dynamic routes first, so /api/auth/*,
// /api/instances/HOST/PROJECT/NAME and the other routes are not shadowed.
function notFound(request: Request): Response {
  const { pathname } = new URL(request.url);
  return errorJson(unknownApiRoute(request.method, pathname));
}

export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;

import { ConsoleError } from "@/lib/errors";

/** The instance routes under /api/instances, for the hint in a 404. */
const INSTANCE_ROUTE_FORMS =
  "Use GET /api/instances for the list, GET /api/instances/HOST/PROJECT/NAME " +
  "for one instance, or POST /api/instances/usage, with each part " +
  'URL-encoded (for example "?" in a project name as %3F).';

/**
 * Returns the not_found error for a path under /api that no route handles,
 * naming the path and, under /api/instances, the forms that exist.
 */
export function unknownApiRoute(
  method: string,
  pathname: string,
): ConsoleError {
  const displayedPath =
    pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname;
  const base = `No API route matches ${method} ${displayedPath}.`;

  if (pathname === "/api/instances" || pathname.startsWith("/api/instances/")) {
    return new ConsoleError("not_found", `${base} ${INSTANCE_ROUTE_FORMS}`);
  }
  return new ConsoleError(
    "not_found",
    `${base} Check the path against the console's API routes.`,
  );
}

import { lxdPath, type LxdClient } from "./client";
import { LxdError } from "./errors";
import { assertProjectName } from "./names";

/**
 * Returns whether a project exists, with GET /1.0/projects/NAME. LXD 5.0
 * returns "Instance not found" for an instance in a missing project, so
 * callers use this to tell the user which of the two is missing.
 */
export async function projectExists(
  client: LxdClient,
  project: string,
): Promise<boolean> {
  assertProjectName(project);
  try {
    await client.requestSync<unknown>("GET", lxdPath`/1.0/projects/${project}`);
    return true;
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return false;
    throw error;
  }
}

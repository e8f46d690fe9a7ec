import { randomBytes } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  integrationTitle,
  lxdDaemon,
  requireDaemon,
} from "@/test/harness/lxd-test-context";

import { LxdClient } from "./client";
import { LxdError } from "./errors";
import { listInstances } from "./instances";
import { projectNameSchema } from "./names";
import { projectExists } from "./projects";

/** Project names around LXD's rule, each with a random suffix. */
function candidates(): string[] {
  const suffix = randomBytes(3).toString("hex");
  return [
    `q?${suffix}`,
    `h#${suffix}`,
    `p%41${suffix}`,
    `all?#%&+=${suffix}`,
    `dot.${suffix}`,
    `Upper-${suffix}`,
    `under_${suffix}`,
    `space ${suffix}`,
    `slash/${suffix}`,
    `quote'${suffix}`,
    `quote"${suffix}`,
  ];
}

/** Returns whether LXD creates the project. The caller deletes created ones. */
async function lxdAccepts(client: LxdClient, name: string): Promise<boolean> {
  try {
    await client.requestSync("POST", "/1.0/projects", {
      body: {
        name,
        config: { "features.images": "false", "features.profiles": "false" },
      },
    });
    return true;
  } catch (error) {
    if (error instanceof LxdError && error.status === 400) return false;
    throw error;
  }
}

describe.skipIf(lxdDaemon === null)(
  integrationTitle("projectNameSchema against LXD"),
  () => {
    let client: LxdClient;
    const created: string[] = [];
    const names = candidates();

    beforeAll(() => {
      client = new LxdClient({
        kind: "unix",
        socketPath: requireDaemon().socketPath,
      });
    });

    afterAll(async () => {
      for (const name of created) {
        await client.request(
          "DELETE",
          `/1.0/projects/${encodeURIComponent(name)}`,
        );
      }
      await client?.close();
    });

    it.each(names)("agrees with LXD on %j", async (name) => {
      const accepted = await lxdAccepts(client, name);
      if (accepted) created.push(name);

      expect(projectNameSchema.safeParse(name).success).toBe(accepted);
    });

    it("reaches projects with ?, # and %", async () => {
      const reachable = names.filter((name) => /[?#%]/.test(name));

      expect(reachable).toHaveLength(4);
      for (const name of reachable) {
        expect(created).toContain(name);
        expect(await projectExists(client, name)).toBe(true);
        expect(await listInstances(client, { project: name })).toEqual([]);
      }
    });

    it("reports a missing project", async () => {
      expect(await projectExists(client, `missing?${names[0]}`)).toBe(false);
    });
  },
);

import { randomBytes } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import { replaceHosts } from "@/lib/hosts/registry";
import { caught } from "@/test/harness/caught";
import {
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { fetchInstanceDetail } from "./detail";

describe.skipIf(lxdDaemon === null)(
  integrationTitle("fetchInstanceDetail"),
  () => {
    // "?", "#" and "%" are valid in LXD project names and special in URLs.
    const project = `q?#%41-${randomBytes(3).toString("hex")}`;
    const name = uniqueInstanceName("detail");

    beforeAll(async () => {
      const daemon = requireDaemon();
      replaceHosts([
        {
          id: "test",
          name: "Test LXD",
          endpoint: { kind: "unix", socketPath: daemon.socketPath },
        },
      ]);
      await lxc([
        "project",
        "create",
        project,
        "-c",
        "features.images=false",
        "-c",
        "features.profiles=false",
      ]);
      await lxc(["init", daemon.imageAlias, name, "--project", project]);
    });

    afterAll(async () => {
      replaceHosts([]);
      await lxc(["delete", "--force", name, "--project", project]);
      await lxc(["project", "delete", project]);
    });

    it("reads an instance in a project with URL characters", async () => {
      const detail = await fetchInstanceDetail({ host: "test", project, name });

      expect(detail.summary.project).toBe(project);
      expect(detail.summary.name).toBe(name);
      expect(detail.summary.status).toBe("Stopped");
    });

    it("names a missing project", async () => {
      const missing = `${project}-gone`;
      const error = await caught(
        fetchInstanceDetail({ host: "test", project: missing, name }),
      );

      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as ConsoleError).code).toBe("not_found");
      expect((error as ConsoleError).message).toBe(
        `Project ${JSON.stringify(missing)} does not exist on host "test".`,
      );
    });

    it("names a missing instance", async () => {
      const error = await caught(
        fetchInstanceDetail({ host: "test", project, name: "gone-1" }),
      );

      expect((error as ConsoleError).code).toBe("not_found");
      expect((error as ConsoleError).message).toBe(
        `Instance "gone-1" does not exist in project ${JSON.stringify(project)} on host "test".`,
      );
    });
  },
);

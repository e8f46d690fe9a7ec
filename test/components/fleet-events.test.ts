import { describe, expect, it } from "vitest";

import { applyFleetEvent, type FleetSnapshot } from "@/components/fleet-events";
import type { HostStatus } from "@/lib/hosts/watcher";

function host(id: string, state: HostStatus["state"]): HostStatus {
  return { id, name: id, state, error: null, serverVersion: null, since: "2026-12-04T00:00:00Z" };
}

describe("applyFleetEvent host events", () => {
  it("updates a known host in place", () => {
    const snapshot: FleetSnapshot = { hosts: [host("a", "connecting")], instances: [] };
    const next = applyFleetEvent(snapshot, { type: "host", host: host("a", "online") });
    expect(next.hosts).toEqual([host("a", "online")]);
  });

  it("adds a host the snapshot did not have", () => {
    const snapshot: FleetSnapshot = { hosts: [host("a", "online")], instances: [] };
    const next = applyFleetEvent(snapshot, { type: "host", host: host("lab", "connecting") });
    expect(next.hosts.map((h) => h.id)).toEqual(["a", "lab"]);
  });
});

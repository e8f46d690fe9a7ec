import { describe, expect, it } from "vitest";

import type { InstanceStatus } from "@/lib/instances/types";

import { describeNoLiveView, noLiveViewReason } from "./live-view";

describe("noLiveViewReason", () => {
  it("allows a running browser sandbox", () => {
    expect(noLiveViewReason({ status: "Running", sandboxKind: "browser" })).toBeNull();
  });

  it.each<InstanceStatus>(["Stopped", "Frozen", "Starting", "Error"])(
    "rejects a browser sandbox that is %s",
    (status) => {
      expect(noLiveViewReason({ status, sandboxKind: "browser" })).toEqual({
        kind: "not-running",
        status,
      });
    },
  );

  it("names the kind of another sandbox", () => {
    expect(noLiveViewReason({ status: "Running", sandboxKind: "python" })).toEqual({
      kind: "not-browser",
      sandboxKind: "python",
    });
  });

  it("puts the kind before the status", () => {
    expect(noLiveViewReason({ status: "Stopped", sandboxKind: null })).toEqual({
      kind: "not-browser",
      sandboxKind: null,
    });
  });
});

describe("describeNoLiveView", () => {
  it("points an operator at the Start button", () => {
    const message = describeNoLiveView({ kind: "not-running", status: "Stopped" }, true);
    expect(message.title).toBe("No live view: the instance is stopped");
    expect(message.detail).toContain("Start button");
  });

  it("sends a watcher to an admin", () => {
    const message = describeNoLiveView({ kind: "not-running", status: "Stopped" }, false);
    expect(message.detail).toContain("An admin can start it");
    expect(message.detail).not.toContain("button");
  });

  it("explains a frozen instance", () => {
    const message = describeNoLiveView({ kind: "not-running", status: "Frozen" }, true);
    expect(message.title).toBe("No live view: the instance is frozen");
    expect(message.detail).toContain("Unfreeze button");
  });

  it("names the sandbox kind", () => {
    const message = describeNoLiveView({ kind: "not-browser", sandboxKind: "python" }, true);
    expect(message.title).toBe("No live view: this is a python sandbox");
  });

  it("explains an instance from another image", () => {
    const message = describeNoLiveView({ kind: "not-browser", sandboxKind: null }, true);
    expect(message.title).toBe("No live view: this instance is not a sandbox");
    expect(message.detail).toContain("sandbox_kind=browser");
  });

  it("words a transitional status", () => {
    const message = describeNoLiveView({ kind: "not-running", status: "Starting" }, true);
    expect(message.title).toBe("No live view: the instance is starting");
  });
});

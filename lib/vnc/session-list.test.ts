import { describe, expect, it } from "vitest";

import {
  applyVncSessionUpdate,
  controlLostNotice,
  describeController,
  findVncSession,
  parseSessionViewParam,
  searchWithView,
  sessionViewParam,
} from "./session-list";
import type { VncController, VncSessionState, VncViewer } from "./types";

const demo = { host: "e2e", project: "default", name: "demo-browser" };
const other = { host: "e2e", project: "default", name: "other-browser" };

function viewer(viewId: string): VncViewer {
  return {
    viewId,
    userId: "user-1",
    userName: "Ada",
    mode: "full",
    openedAt: "2026-01-05T10:00:00.000Z",
  };
}

function controller(viewId: string, userId = "user-1", userName = "Ada"): VncController {
  return { viewId, userId, userName, since: "2026-01-05T10:01:00.000Z" };
}

function session(
  key: typeof demo,
  viewIds: string[],
  control: VncController | null = null,
): VncSessionState {
  return { ...key, viewers: viewIds.map(viewer), controller: control };
}

describe("applyVncSessionUpdate", () => {
  it("adds a newly watched sandbox", () => {
    const result = applyVncSessionUpdate([], session(demo, ["a"]));
    expect(result).toEqual([session(demo, ["a"])]);
  });

  it("replaces the sandbox's entry only", () => {
    const before = [session(demo, ["a"]), session(other, ["b"])];
    const result = applyVncSessionUpdate(before, session(demo, ["a", "c"], controller("c")));
    expect(findVncSession(result, demo)).toEqual(session(demo, ["a", "c"], controller("c")));
    expect(findVncSession(result, other)).toEqual(session(other, ["b"]));
    expect(result).toHaveLength(2);
  });

  it("drops a sandbox nobody watches", () => {
    const result = applyVncSessionUpdate([session(demo, ["a"])], session(demo, []));
    expect(result).toEqual([]);
  });

  it("keeps a controller without viewers", () => {
    const update = session(demo, [], controller("a"));
    expect(applyVncSessionUpdate([], update)).toEqual([update]);
  });

  it("leaves the input unchanged", () => {
    const before = [session(demo, ["a"])];
    applyVncSessionUpdate(before, session(demo, []));
    expect(before).toHaveLength(1);
  });
});

describe("findVncSession", () => {
  it("returns null before the list loads", () => {
    expect(findVncSession(undefined, demo)).toBeNull();
  });

  it("tells projects apart", () => {
    const list = [session(demo, ["a"])];
    expect(findVncSession(list, { ...demo, project: "team" })).toBeNull();
  });
});

describe("describeController", () => {
  const reader = { userId: "user-1", viewId: "mine" };

  it("says when nobody has control", () => {
    expect(describeController(null, reader)).toBe("Nobody has control");
  });

  it("marks control that waits for a reconnect", () => {
    const waiting = { ...controller("theirs"), disconnectedAt: "2026-12-04T20:00:00.000Z" };
    expect(describeController(waiting, reader)).toBe(
      "You have control in another view (reconnecting)",
    );
    expect(describeController({ ...waiting, viewId: "mine" }, reader)).toBe(
      "You have control in this view (reconnecting)",
    );
    expect(describeController({ ...waiting, userId: "user-2" }, reader)).toMatch(
      / has control \(reconnecting\)$/,
    );
  });

  it("recognises this view", () => {
    expect(describeController(controller("mine"), reader)).toBe(
      "You have control in this view",
    );
  });

  it("recognises the reader's other view", () => {
    expect(describeController(controller("theirs"), reader)).toBe(
      "You have control in another view",
    );
  });

  it("names another user", () => {
    expect(describeController(controller("x", "user-2", "Grace"), reader)).toBe(
      "Grace has control",
    );
  });

  it("needs no view on the wall", () => {
    expect(describeController(controller("x"), { userId: "user-1" })).toBe(
      "You have control",
    );
  });
});

describe("controlLostNotice", () => {
  it("is null while this view keeps control", () => {
    expect(controlLostNotice(controller("mine"), "mine", "user-1")).toBeNull();
  });

  it("names who took over", () => {
    expect(controlLostNotice(controller("x", "user-2", "Grace"), "mine", "user-1")).toBe(
      "Grace took control. This view is view-only again.",
    );
  });

  it("recognises the reader's other view", () => {
    expect(controlLostNotice(controller("x"), "mine", "user-1")).toBe(
      "You, in another view, took control. This view is view-only again.",
    );
  });

  it("reports a release", () => {
    expect(controlLostNotice(null, "mine", "user-1")).toBe(
      "Control was released. This view is view-only again.",
    );
  });
});

describe("the sessions wall's view parameter", () => {
  it("round-trips an instance key through the address", () => {
    const key = { host: "lab-2", project: "qa?#%", name: "agent-7" };
    const search = searchWithView("?tiles=scaled-canvas", sessionViewParam(key));
    expect(search).toBe("?tiles=scaled-canvas&view=lab-2/qa%3F%23%25/agent-7");
    expect(parseSessionViewParam(new URLSearchParams(search).get("view"))).toEqual(key);
  });

  it("removes the parameter and keeps the others", () => {
    expect(searchWithView("?view=e2e/default/demo&tiles=thumbnail", null)).toBe("?tiles=thumbnail");
    expect(searchWithView("?view=e2e/default/demo", null)).toBe("");
  });

  it("rejects values that do not name one instance", () => {
    for (const value of [null, "", "e2e/default", "e2e//demo", "e2e/default/demo/x", "/default/demo"]) {
      expect(parseSessionViewParam(value), String(value)).toBeNull();
    }
  });
});

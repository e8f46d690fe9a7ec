import { describe, expect, it } from "vitest";

import { ConnectionSlots } from "./connection-slots";

/** Resolves after pending promise callbacks have run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe("ConnectionSlots", () => {
  it("grants up to the limit at once", async () => {
    const slots = new ConnectionSlots(2);
    const granted: number[] = [];
    for (const id of [1, 2, 3]) void slots.acquire().then(() => granted.push(id));
    await settle();

    expect(granted).toEqual([1, 2]);
    expect(slots.inUse).toBe(2);
    expect(slots.queued).toBe(1);
  });

  it("grants waiting callers in call order", async () => {
    const slots = new ConnectionSlots(1);
    const first = await slots.acquire();
    const granted: number[] = [];
    const second = slots.acquire().then((release) => {
      granted.push(2);
      return release;
    });
    void slots.acquire().then(() => granted.push(3));

    first();
    await settle();
    expect(granted).toEqual([2]);

    (await second)();
    await settle();
    expect(granted).toEqual([2, 3]);
    expect(slots.inUse).toBe(1);
  });

  it("ignores a second release", async () => {
    const slots = new ConnectionSlots(1);
    const release = await slots.acquire();
    void slots.acquire();
    release();
    release();
    await settle();

    expect(slots.inUse).toBe(1);
  });

  it("drops an aborted wait", async () => {
    const slots = new ConnectionSlots(1);
    const release = await slots.acquire();
    const controller = new AbortController();
    const aborted = slots.acquire(controller.signal);
    controller.abort(new Error("tile left the screen"));

    await expect(aborted).rejects.toThrow("tile left the screen");
    expect(slots.queued).toBe(0);
    release();
    expect(slots.inUse).toBe(0);
  });

  it("rejects an already aborted signal", async () => {
    const slots = new ConnectionSlots(1);
    const controller = new AbortController();
    controller.abort(new Error("gone"));

    await expect(slots.acquire(controller.signal)).rejects.toThrow("gone");
    expect(slots.inUse).toBe(0);
  });

  it("rejects a limit below one", () => {
    expect(() => new ConnectionSlots(0)).toThrow(RangeError);
  });
});

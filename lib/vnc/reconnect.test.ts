import { describe, expect, it } from "vitest";

import {
  RECONNECT_MAX_DELAY_MS,
  ReconnectBackoff,
  STABLE_CONNECTION_MS,
  reconnectDelay,
} from "./reconnect";

describe("reconnectDelay", () => {
  it("doubles from 1 s", () => {
    expect([1, 2, 3, 4, 5].map(reconnectDelay)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000,
    ]);
  });

  it("stops at 30 s", () => {
    expect(reconnectDelay(6)).toBe(RECONNECT_MAX_DELAY_MS);
    expect(reconnectDelay(60)).toBe(RECONNECT_MAX_DELAY_MS);
  });

  it("treats zero failures as the first", () => {
    expect(reconnectDelay(0)).toBe(1_000);
  });
});

describe("ReconnectBackoff", () => {
  it("grows while connections fail", () => {
    const backoff = new ReconnectBackoff();
    const delays = [0, 1, 2, 3].map((step) => backoff.dropped(step * 100));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it("keeps growing after a short connection", () => {
    const backoff = new ReconnectBackoff();
    backoff.dropped(0);
    backoff.dropped(1);
    backoff.connected(5_000);
    expect(backoff.dropped(5_000 + STABLE_CONNECTION_MS - 1)).toBe(4_000);
  });

  it("resets after a stable connection", () => {
    const backoff = new ReconnectBackoff();
    for (let step = 0; step < 8; step += 1) backoff.dropped(step);
    backoff.connected(100_000);
    expect(backoff.dropped(100_000 + STABLE_CONNECTION_MS)).toBe(1_000);
    expect(backoff.dropped(100_001 + STABLE_CONNECTION_MS)).toBe(2_000);
  });
});

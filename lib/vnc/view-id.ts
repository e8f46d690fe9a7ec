/**
 * Returns a random version 4 UUID for one mounted viewer. Browsers offer
 * crypto.randomUUID only in secure contexts (HTTPS or loopback), so a console
 * served over plain HTTP on another address falls back to getRandomValues.
 */
export function newViewId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();

  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // Version 4 and the RFC 9562 variant, as randomUUID sets them.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join("-");
}

/**
 * Returns the file name of a screenshot of `instanceName` taken at `at`,
 * such as "demo-browser-2026-01-05T10-04-59Z.png". The time is UTC, with
 * dashes in place of colons, which some file systems reject.
 */
export function screenshotFileName(instanceName: string, at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replaceAll(":", "-");
  return `${instanceName}-${stamp}Z.png`;
}

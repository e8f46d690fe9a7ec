// Pure helpers for showing LXD operations, shared by client components and tests.

/** Fields of an operation event these helpers read. */
interface OperationResources {
  /** Instance URLs such as /1.0/instances/web?project=demo. */
  instances: string[];
}

/**
 * Reads a percentage out of LXD's progress text, such as "Unpack: 40%".
 * Transfer progress ("name: 12.5MB (3MB/s)") has none, so it returns null.
 */
export function progressPercent(text: string | null): number | null {
  const match = text ? /(\d{1,3})%/.exec(text) : null;
  if (!match?.[1]) return null;
  return Math.min(100, Number(match[1]));
}

/** Returns whether an operation's resources include the instance named `name`. */
export function touchesInstance(operation: OperationResources, name: string): boolean {
  return operation.instances.some((url) => {
    const path = url.split("?")[0] ?? "";
    const match = /^\/1\.0\/instances\/([^/]+)/.exec(path);
    return match?.[1] !== undefined && decodeURIComponent(match[1]) === name;
  });
}

/**
 * Formats the time from `createdAt` (ISO 8601) to `now` (ms) as "42 s" or
 * "3 min 05 s", or returns null without a valid start time. A start time
 * ahead of `now`, as a host's clock may be, counts as 0 s.
 */
export function formatElapsed(createdAt: string | null, now: number): string | null {
  const started = createdAt ? Date.parse(createdAt) : Number.NaN;
  if (Number.isNaN(started)) return null;

  const seconds = Math.max(0, Math.floor((now - started) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

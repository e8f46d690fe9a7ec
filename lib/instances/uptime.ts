/**
 * Formats how long a running instance has been up, from `startedAt` (LXD's
 * `last_used_at`, which it sets when the instance starts), such as "42 s",
 * "7 min", "3 h 12 min" or "2 d 5 h". Returns "—" for a missing time and for
 * LXD's zero time (year 1) of an instance that never started.
 */
export function formatUptime(startedAt: string | null | undefined, now = Date.now()): string {
  if (!startedAt) return "—";
  const started = new Date(startedAt);
  if (Number.isNaN(started.getTime()) || started.getUTCFullYear() < 1971) return "—";

  const seconds = Math.max(0, Math.floor((now - started.getTime()) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

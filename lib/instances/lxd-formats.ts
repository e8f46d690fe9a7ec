/**
 * Checks of config values in the formats LXD 5.0 accepts, so the console
 * rejects a bad value with a message naming the accepted forms before LXD
 * receives it. The rules follow LXD's validators in shared/validate and
 * shared/units of canonical/lxd. The expiry and snapshot name rules were
 * checked against LXD 5.0.2. Each check returns null for a valid value or
 * the reason it is invalid.
 */

/** A check of one value: null when valid, else the reason. */
export type FormatCheck = (value: string) => string | null;

const BYTE_UNITS = [
  "B",
  "kB",
  "MB",
  "GB",
  "TB",
  "PB",
  "EB",
  "KiB",
  "MiB",
  "GiB",
  "TiB",
  "PiB",
  "EiB",
];

const INT64_MAX = 2n ** 63n - 1n;

/** Accepts a whole number that LXD parses as a signed 64-bit integer. */
export const checkInteger: FormatCheck = (value) => {
  if (!/^[+-]?\d+$/.test(value)) return "it is not a whole number";
  const number = BigInt(value);
  if (number > INT64_MAX || number < -INT64_MAX - 1n) {
    return "it does not fit in a 64-bit integer";
  }
  return null;
};

/** Accepts a size such as 512MiB, 2GB or 1073741824, as LXD's ParseByteSizeString reads it. */
export const checkByteSize: FormatCheck = (value) => {
  const match = /^(\d+)(.*)$/.exec(value);
  if (!match) return "it does not start with a whole number";

  const [, digits, unit] = match;
  if (!BYTE_UNITS.includes(unit ?? "") && unit !== "") {
    return `"${unit}" is not a size unit`;
  }
  if (BigInt(digits ?? "0") > INT64_MAX) return "the number is too large";
  return null;
};

/** Accepts a whole percentage such as 50%. */
function checkPercent(value: string): string | null {
  return /^\d+%$/.test(value) ? null : "it is not a whole percentage";
}

/** Accepts true or false in any of the spellings LXD's IsBool accepts. */
export const checkBoolean: FormatCheck = (value) => {
  const accepted = ["true", "false", "yes", "no", "1", "0", "on", "off"];
  return accepted.includes(value.toLowerCase()) ? null : "it is not a boolean";
};

/**
 * Accepts a CPU count such as 2, or a CPU set such as 0-1,3 that names no
 * CPU twice. A count must be at least 1.
 */
export const checkCpuLimit: FormatCheck = (value) => {
  if (/^\d+$/.test(value)) {
    return Number(value) >= 1 ? null : "a CPU count must be at least 1";
  }
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    return "it is neither a CPU count nor a CPU set";
  }

  const seen = new Set<number>();
  for (const chunk of value.split(",")) {
    const [low, high = low] = chunk.split("-").map(Number);
    if (low === undefined || high === undefined || low > high) {
      return `the range "${chunk}" runs backwards`;
    }
    for (let cpu = low; cpu <= high; cpu += 1) {
      if (seen.has(cpu)) return `CPU ${cpu} is named more than once`;
      seen.add(cpu);
    }
  }
  return null;
};

/**
 * Accepts a soft share such as 50%, or a hard time slice such as
 * 25ms/100ms (milliseconds of CPU time per period).
 */
export const checkCpuAllowance: FormatCheck = (value) => {
  if (value.endsWith("%")) return checkPercent(value);

  const match = /^(\d+)ms\/(\d+)ms$/.exec(value);
  if (!match) return "it is neither a percentage nor a time slice";
  if (Number(match[1]) === 0 || Number(match[2]) === 0) {
    return "both times must be greater than 0 ms";
  }
  return null;
};

/** Accepts a size such as 512MiB, or a percentage of host memory such as 50%. */
export const checkMemoryLimit: FormatCheck = (value) => {
  if (value.endsWith("%")) return checkPercent(value);
  return checkByteSize(value);
};

/** Aliases LXD 5.0 accepts in snapshots.schedule besides cron expressions. */
export const SCHEDULE_ALIASES = [
  "@hourly",
  "@daily",
  "@midnight",
  "@weekly",
  "@monthly",
  "@annually",
  "@yearly",
  "@startup",
  "@never",
];

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59, names: [] },
  { name: "hour", min: 0, max: 23, names: [] },
  { name: "day of month", min: 1, max: 31, names: [] },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  {
    name: "day of week",
    min: 0,
    max: 6,
    names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  },
] as const;

/**
 * Accepts a schedule: a five-field cron expression (minute hour day-of-month month
 * day-of-week) or an alias such as @daily. Several schedules are separated
 * by a comma and a space, as LXD splits them.
 */
export const checkSchedule: FormatCheck = (value) => {
  for (const trigger of value.toLowerCase().split(", ")) {
    if (SCHEDULE_ALIASES.includes(trigger)) continue;

    const fields = trigger.split(" ");
    if (fields.length !== 5) {
      const count = `${fields.length} field${fields.length === 1 ? "" : "s"}`;
      return `"${trigger}" is no alias and has ${count} where a cron expression has 5`;
    }
    for (const [index, field] of fields.entries()) {
      const spec = CRON_FIELDS[index];
      if (spec === undefined) continue;
      const problem = checkCronField(field, spec);
      if (problem !== null) return `the ${spec.name} field "${field}" ${problem}`;
    }
  }
  return null;
};

function checkCronField(
  field: string,
  spec: (typeof CRON_FIELDS)[number],
): string | null {
  const names: readonly string[] = spec.names;
  const parseValue = (text: string): number | null => {
    if (/^\d+$/.test(text)) return Number(text);
    const index = names.indexOf(text);
    return index === -1 ? null : index + spec.min;
  };

  for (const item of field.split(",")) {
    const [range, step, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") {
      return "is not a cron field";
    }
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) {
      return "has an invalid step";
    }
    if (range === "*" || range === "?") continue;

    const [lowText, highText, rest] = range.split("-");
    if (rest !== undefined || lowText === undefined) return "is not a cron field";
    const low = parseValue(lowText);
    const high = highText === undefined ? low : parseValue(highText);
    if (low === null || high === null) return "is not a number or name";
    if (low < spec.min || high > spec.max || low > high) {
      return `is outside ${spec.min}-${spec.max}`;
    }
  }
  return null;
}

/**
 * Accepts an expiry such as 1d, 2w or 3M 1d: space-separated amounts with the units
 * M (minutes), H (hours), d (days), w (weeks), m (months) and y (years),
 * each unit used at most once.
 */
export const checkExpiry: FormatCheck = (value) => {
  const used = new Set<string>();
  for (const part of value.trim().split(" ")) {
    const match = /^(\d+)([MHdwmy])$/.exec(part);
    if (!match) return `"${part}" is not an amount with a unit`;
    const unit = match[2] ?? "";
    if (used.has(unit)) return `the unit "${unit}" is used twice`;
    used.add(unit);
  }
  return null;
};

/**
 * Accepts a snapshot name as LXD 5.0.2 does: not empty, without spaces and
 * without / ? & or +. The console also rejects "." and "..", which LXD
 * accepts but which would name another path in the snapshot's URL.
 */
export const checkSnapshotName: FormatCheck = (value) => {
  if (value === "") return "it must not be empty";
  if (/\s/.test(value)) return "it contains a space";
  const forbidden = ["/", "?", "&", "+"].find((char) => value.includes(char));
  if (forbidden !== undefined) return `it contains "${forbidden}"`;
  if (value === "." || value === "..") return "the name is reserved";
  return null;
};

/**
 * Accepts a snapshot name pattern: a Pongo2 template such as snap%d or
 * {{ creation_date|date:'2006-01-02' }}, which must not contain the
 * characters a snapshot name may not contain.
 */
export const checkSnapshotPattern: FormatCheck = (value) => {
  const forbidden = ["/", "?", "&", "+"].find((char) => value.includes(char));
  if (forbidden !== undefined) {
    return `it contains "${forbidden}", which a snapshot name may not contain`;
  }
  if (/\{\{(?![\s\S]*\}\})/.test(value) || /\{%(?![\s\S]*%\})/.test(value)) {
    return "a template tag is not closed";
  }
  return null;
};

import { describe, expect, it } from "vitest";

import {
  checkByteSize,
  checkCpuAllowance,
  checkCpuLimit,
  checkExpiry,
  checkMemoryLimit,
  checkSchedule,
  checkSnapshotName,
  checkSnapshotPattern,
  type FormatCheck,
} from "./lxd-formats";

const cases: Array<[string, FormatCheck, string[], Array<[string, string]>]> = [
  [
    "checkCpuLimit",
    checkCpuLimit,
    ["1", "16", "0-1,3", "0,2", "4-7"],
    [
      ["0", "at least 1"],
      ["1.5", "neither"],
      ["3-1", "runs backwards"],
      ["0-2,1", "CPU 1 is named more than once"],
      ["", "neither"],
    ],
  ],
  [
    "checkCpuAllowance",
    checkCpuAllowance,
    ["50%", "100%", "25ms/100ms"],
    [
      ["50", "neither"],
      ["0ms/100ms", "greater than 0 ms"],
      ["5.5%", "whole percentage"],
      ["25ms/100", "neither"],
    ],
  ],
  [
    "checkMemoryLimit",
    checkMemoryLimit,
    ["512MiB", "2GB", "1073741824", "50%", "1kB"],
    [
      ["1.5GiB", '".5GiB" is not a size unit'],
      ["1gb", '"gb" is not a size unit'],
      ["GiB", "does not start with a whole number"],
      ["99999999999999999999", "too large"],
    ],
  ],
  ["checkByteSize", checkByteSize, ["10GiB", "0"], [["10 GiB", '" GiB" is not a size unit']]],
  [
    "checkSchedule",
    checkSchedule,
    ["@daily", "@never", "0 3 * * *", "*/15 * * * 1-5", "0 0 1 jan,jul *", "@hourly, 30 2 * * sun"],
    [
      ["@often", "is no alias and has 1 field where"],
      ["0 3 * *", "has 4 fields"],
      ["60 * * * *", "outside 0-59"],
      ["* 24 * * *", "outside 0-23"],
      ["* * 0 * *", "outside 1-31"],
      ["* * * * 7", "outside 0-6"],
      ["*/0 * * * *", "invalid step"],
      ["a * * * *", "not a number or name"],
    ],
  ],
  [
    "checkExpiry",
    checkExpiry,
    ["1d", "2w", "3M 12H", "1y 2m"],
    [
      ["1D", '"1D" is not an amount with a unit'],
      ["d", '"d" is not an amount'],
      ["1d 1d", 'unit "d" is used twice'],
    ],
  ],
  [
    "checkSnapshotName",
    checkSnapshotName,
    ["base", "incident-20261204-170509", "snap.1"],
    [
      ["", "must not be empty"],
      ["a b", "contains a space"],
      ["a/b", 'contains "/"'],
      ["a+b", 'contains "+"'],
      ["..", "reserved"],
    ],
  ],
  [
    "checkSnapshotPattern",
    checkSnapshotPattern,
    ["snap%d", "{{ creation_date|date:'2006-01-02' }}"],
    [
      ["a/%d", 'contains "/"'],
      ["{{ creation_date", "not closed"],
    ],
  ],
];

describe.each(cases)("%s", (_name, check, valid, invalid) => {
  it.each(valid)("accepts %j", (value) => {
    expect(check(value)).toBeNull();
  });

  it.each(invalid)("rejects %j", (value, reason) => {
    expect(check(value)).toContain(reason);
  });
});

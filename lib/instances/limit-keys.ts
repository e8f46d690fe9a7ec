import {
  checkBoolean,
  checkByteSize,
  checkCpuAllowance,
  checkCpuLimit,
  checkInteger,
  checkMemoryLimit,
  type FormatCheck,
} from "./lxd-formats";

/**
 * The resource limits the console edits. All are LXD instance config keys
 * except `root.size`, the `size` of the instance's root disk device.
 */
export const LIMIT_KEYS = [
  "limits.cpu",
  "limits.cpu.allowance",
  "limits.memory",
  "limits.memory.swap",
  "limits.processes",
  "root.size",
] as const;

export type LimitKey = (typeof LIMIT_KEYS)[number];

export const ROOT_SIZE_KEY = "root.size";

export interface LimitFormat {
  label: string;
  check: FormatCheck;
  acceptedForms: string;
}

/** Label, check and accepted forms of each limit, for messages and forms. */
export const LIMIT_FORMATS: Record<LimitKey, LimitFormat> = {
  "limits.cpu": {
    label: "CPUs",
    check: checkCpuLimit,
    acceptedForms: "a CPU count such as 2, or a CPU set such as 0-1,3",
  },
  "limits.cpu.allowance": {
    label: "CPU allowance",
    check: checkCpuAllowance,
    acceptedForms:
      "a percentage such as 50%, or a time slice such as 25ms/100ms",
  },
  "limits.memory": {
    label: "Memory",
    check: checkMemoryLimit,
    acceptedForms:
      "a size such as 512MiB or 2GB, or a percentage of host memory such as 50%",
  },
  "limits.memory.swap": {
    label: "Swap",
    check: checkBoolean,
    acceptedForms: "true or false",
  },
  "limits.processes": {
    label: "Processes",
    check: checkInteger,
    acceptedForms: "a whole number such as 500",
  },
  "root.size": {
    label: "Root disk size",
    check: checkByteSize,
    acceptedForms: "a size such as 10GiB or 500MB",
  },
};


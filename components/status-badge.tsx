import type { InstanceStatus } from "@/lib/instances/types";

const styles: Record<string, string> = {
  Running: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  Stopped: "bg-slate-100 text-slate-600 ring-slate-500/20",
  Frozen: "bg-sky-50 text-sky-700 ring-sky-600/20",
  Error: "bg-red-50 text-red-700 ring-red-600/20",
};

const dots: Record<string, string> = {
  Running: "bg-emerald-500",
  Stopped: "bg-slate-400",
  Frozen: "bg-sky-500",
  Error: "bg-red-500",
};

export function StatusBadge({ status }: { status: InstanceStatus }) {
  const style = styles[status] ?? "bg-amber-50 text-amber-700 ring-amber-600/20";
  const dot = dots[status] ?? "bg-amber-500 animate-pulse";
  return (
    <span
      data-testid="instance-status"
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${style}`}
    >
      <span className={`size-1.5 rounded-full ${dot}`} aria-hidden />
      {status}
    </span>
  );
}

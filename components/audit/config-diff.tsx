import type { ConfigChange } from "@/lib/audit/detail";

const changeStyles: Record<ConfigChange["change"], string> = {
  added: "bg-emerald-50",
  removed: "bg-red-50",
  changed: "bg-amber-50",
};

/** Shows the keys that differ between params.before and params.after. */
export function ConfigDiff({ changes }: { changes: ConfigChange[] }) {
  if (changes.length === 0) {
    return <p className="text-slate-500">Before and after are the same.</p>;
  }

  return (
    <table className="w-full table-fixed rounded-md border border-slate-200 bg-white text-left text-sm" data-testid="config-diff">
      <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
        <tr>
          <th className="w-64 px-3 py-2 font-medium">Key</th>
          <th className="w-24 px-3 py-2 font-medium">Change</th>
          <th className="px-3 py-2 font-medium">Before</th>
          <th className="px-3 py-2 font-medium">After</th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 font-mono text-xs">
        {changes.map((change) => (
          <tr key={change.key} className={changeStyles[change.change]}>
            <td className="break-all px-3 py-2">{change.key}</td>
            <td className="px-3 py-2 font-sans">{change.change}</td>
            <td className="break-all px-3 py-2 text-red-800">{change.before ?? "—"}</td>
            <td className="break-all px-3 py-2 text-emerald-800">{change.after ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

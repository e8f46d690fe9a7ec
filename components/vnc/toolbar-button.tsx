"use client";

/** Renders a small button for the dark toolbar of the full viewer. */
export function ToolbarButton({
  children,
  onClick,
  disabled = false,
  title,
  variant = "plain",
}: {
  children: React.ReactNode;
  onClick: () => void;
  disabled?: boolean;
  title?: string;
  variant?: "plain" | "primary";
}) {
  const colours =
    variant === "primary"
      ? "border-sky-500 bg-sky-600 text-white hover:bg-sky-500"
      : "border-slate-600 bg-slate-800 text-slate-100 hover:bg-slate-700";
  return (
    <button
      type="button"
      onClick={onClick}
      disabled={disabled}
      title={title}
      className={`rounded border px-2.5 py-1 text-xs font-medium disabled:cursor-not-allowed disabled:opacity-50 ${colours}`}
    >
      {children}
    </button>
  );
}

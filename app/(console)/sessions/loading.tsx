const placeholderTiles = 8;

export default function SessionsLoading() {
  return (
    <div aria-busy="true" className="animate-pulse space-y-4">
      <div className="h-6 w-40 rounded bg-slate-200" />
      <div className="grid grid-cols-[repeat(auto-fill,minmax(17rem,1fr))] gap-4">
        {Array.from({ length: placeholderTiles }, (_, index) => (
          <div key={index} className="aspect-[16/10] rounded-md bg-slate-200" />
        ))}
      </div>
    </div>
  );
}

// LXD operations the console started, so the event ingester can tell them
// from actions taken outside the console. The set lives on globalThis,
// because server actions (in Next's bundles) add to it and the ingester (in
// the custom server's bundle) reads it.

// Operation ids are kept this long, far longer than LXD takes to send the
// lifecycle event of an operation.
const TTL_MS = 10 * 60_000;

const globalOperations = globalThis as typeof globalThis & {
  [key: symbol]: Map<string, number> | undefined;
};
const storeKey = Symbol.for("sandbox-console.console-operations");

function store(): Map<string, number> {
  let operations = globalOperations[storeKey];
  if (!operations) {
    operations = new Map();
    globalOperations[storeKey] = operations;
  }
  return operations;
}

/** Notes that the console started LXD operation `operationId` on `host`. */
export function rememberConsoleOperation(host: string, operationId: string): void {
  const operations = store();
  const now = Date.now();
  operations.set(`${host}/${operationId}`, now);
  for (const [key, at] of operations) {
    if (now - at > TTL_MS) operations.delete(key);
  }
}

/** Returns whether the console started LXD operation `operationId` on `host`. */
export function isConsoleOperation(host: string, operationId: string): boolean {
  return store().has(`${host}/${operationId}`);
}

// Walks one id range of the audit chain in a worker thread, for
// inspectAuditChain in hash.ts. It reads the rows over its own connection,
// so parsing and hashing both leave the main thread. Plain JavaScript, so
// that any Node can start it without a TypeScript loader.

import { parentPort, workerData } from "node:worker_threads";
import postgres from "postgres";

import { CHAIN_COLUMNS, walkChainRange } from "./chain-hash.mjs";

/** @type {{ url: string; afterId: number; lastId: number; batchSize: number }} */
const { url, afterId, lastId, batchSize } = workerData;

const client = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => undefined });
try {
  const walk = await walkChainRange(
    (after) =>
      client.unsafe(
        `select ${CHAIN_COLUMNS} from audit_events
         where id > $1 and id <= $2 order by id limit $3`,
        [after, lastId, batchSize],
      ),
    afterId,
    batchSize,
  );
  parentPort?.postMessage(walk);
} finally {
  await client.end();
}

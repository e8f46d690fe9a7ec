import type { AuditEvent } from "@/lib/db/schema";

/** The row fields covered by the hash: every column except `hash` itself. */
export type HashedAuditFields = Omit<AuditEvent, "hash">;

/** The reason a row breaks the chain. */
export type ChainBreak = "prev_hash_mismatch" | "hash_mismatch";

/** A row as CHAIN_COLUMNS reads it; bigint columns may come as text. */
export interface RawChainRow extends Record<string, unknown> {
  id: string | number;
  at_ms: string | number;
  correlation_id: string | null;
  phase: AuditEvent["phase"];
  actor_id: string | null;
  actor: string;
  source_address: string | null;
  action: string;
  host: string | null;
  project: string | null;
  instance: string | null;
  params: string | null;
  result: AuditEvent["result"];
  error: string | null;
  operation_id: string | null;
  duration_ms: string | number | null;
  prev_hash: string | null;
  hash: string;
}

/** What walkChainRange found in one id range. */
export interface RangeWalk {
  /** Rows read, up to and including the first broken one. */
  rows: number;
  /** The range's first row, whose link the caller checks. */
  first: { id: number; prevHash: string | null } | null;
  lastId: number | null;
  lastHash: string | null;
  /** The first row that breaks the chain inside the range. */
  broken: { id: number; reason: ChainBreak } | null;
}

export const CHAIN_COLUMNS: string;
export function canonicalJson(value: unknown): string;
export function computeAuditHash(row: HashedAuditFields): string;
export function rawChainRowHash(row: RawChainRow): string;
export function walkChainRange(
  readBatch: (afterId: number) => Promise<RawChainRow[]>,
  afterId: number,
  batchSize: number,
): Promise<RangeWalk>;

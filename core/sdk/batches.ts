// Helpers for sinks that append each batch exactly once (see `SinkContext.batch`).
import type { BatchIdentity } from './types.ts';

/**
 * The table in which SQL sinks (duckdb, postgres) note every batch they append, in the same transaction as its rows:
 * a batch delivered again after a crash finds its row there and is not written twice. One row per batch and sink;
 * a sink keeps its newest `BATCH_LEDGER_KEEP` rows (a batch is delivered again only right after a restart).
 */
export const BATCH_LEDGER_TABLE = '_platform_batches';
export const BATCH_LEDGER_KEEP = 1000;

/** The statements of the ledger `table` (already quoted, schema-qualified where needed); the same SQL serves DuckDB and PostgreSQL. */
export function batchLedgerSql(table: string) {
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (writer VARCHAR NOT NULL, batch VARCHAR NOT NULL, target VARCHAR NOT NULL, origin VARCHAR, records BIGINT NOT NULL, written_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (writer, batch))`,
    /** $1 writer, $2 batch, $3 target, $4 origin, $5 records: returns a row when the batch is new (write it), none when it was written already. */
    claim: `INSERT INTO ${table} (writer, batch, target, origin, records) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING batch`,
    /** $1 writer: forgets all but its newest rows. */
    prune: `DELETE FROM ${table} WHERE writer = $1 AND batch NOT IN (SELECT batch FROM ${table} WHERE writer = $1 ORDER BY written_at DESC LIMIT ${BATCH_LEDGER_KEEP})`,
  };
}

/** The parameters of `claim` for one batch written into `target`. */
export function claimParams(
  batch: BatchIdentity,
  target: string,
  records: number,
): [string, string, string, string, number] {
  return [batch.writer, batch.id, target, batch.origin, records];
}

/**
 * A batch id shaped as a UUID (version 8, "custom"), for names that take `{uuid}`: the same batch gets the same file
 * or object name when it is written again, which then replaces the first copy instead of adding a second.
 */
export function batchUuid(batch: BatchIdentity): string {
  const hex = batch.id.padEnd(32, '0').slice(0, 32);
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

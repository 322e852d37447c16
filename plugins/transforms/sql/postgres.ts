// The sql transform on a PostgreSQL connection: the batch becomes a temporary table of one transaction (COPY), the
// query runs in PostgreSQL next to the database's tables — state that every process writing that database shares —
// and its rows come back as records. Nothing of the batch outlives the transaction (ON COMMIT DROP).
import type { Row, TransformContext } from '../../../core/sdk/index.ts';
import type { PostgresClient } from '../../../connections/postgres/index.ts';
import type { SqlConfig } from './index.ts';

/** A name quoted as one identifier (a dot stays part of the name). */
function ident(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/**
 * The PostgreSQL type of a column from its values: boolean, numeric (exact for every JS number), timestamptz (Dates),
 * jsonb (objects and arrays), text for strings and for columns whose values mix kinds; text when every value is null.
 */
function columnType(records: Row[], name: string): string {
  let kind: string | undefined;
  for (const record of records) {
    const value = record[name];
    if (value === null || value === undefined) continue;
    const k =
      typeof value === 'boolean'
        ? 'boolean'
        : typeof value === 'number' || typeof value === 'bigint'
          ? 'numeric'
          : value instanceof Date
            ? 'timestamptz'
            : typeof value === 'object'
              ? 'jsonb'
              : 'text';
    if (kind === undefined) kind = k;
    else if (kind !== k) return 'text';
  }
  return kind ?? 'text';
}

/** Every field name of the batch, in order of first appearance. */
function fieldNames(records: Row[]): string[] {
  const names = new Set<string>();
  for (const record of records) for (const name of Object.keys(record)) names.add(name);
  return [...names];
}

/**
 * Runs `config.query` over `records` in PostgreSQL. With `rejectWhere`/`rejectReason`, rows the condition (or a
 * non-empty reason) marks go to `ctx.reject` with the reason, and the query sees only the others.
 */
export async function runInPostgres(
  db: PostgresClient,
  records: Row[],
  ctx: TransformContext,
  config: SqlConfig,
): Promise<Row[]> {
  const names = fieldNames(records);
  // A declared column keeps its type in every batch (one whose values are all null would otherwise be text).
  const declared = config.optionalColumns ?? {};
  const columns = names.map((name) => ({ name, type: declared[name] ?? columnType(records, name) }));
  for (const [name, type] of Object.entries(declared)) if (!names.includes(name)) columns.push({ name, type });
  const loaded = columns.filter((c) => names.includes(c.name)).map((c) => c.name);
  const list = columns.map((c) => ident(c.name)).join(', ');
  const definition = columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
  const { rejectWhere, rejectReason } = config;
  return db.transaction(async (tx) => {
    const table = ident(config.as);
    if (!rejectWhere && !rejectReason) {
      await tx.exec(`CREATE TEMP TABLE ${table} (${definition}) ON COMMIT DROP`);
      await tx.copyInto(config.as, loaded, records);
    } else {
      // Each row with its index in the batch, so a rejected row is handed back as the record it came from.
      await tx.exec(`CREATE TEMP TABLE _sql_batch (_sql_row integer, ${definition}) ON COMMIT DROP`);
      await tx.copyInto(
        '_sql_batch',
        ['_sql_row', ...loaded],
        records.map((record, index) => ({ ...record, _sql_row: index })),
      );
      const checked = rejectWhere
        ? `SELECT *, CASE WHEN _sql_rejected THEN CAST((${rejectReason ?? `'rejected by: ' || ${literal(rejectWhere)}`}) AS text) END AS _sql_reason
           FROM (SELECT *, coalesce((${rejectWhere}), false) AS _sql_rejected FROM _sql_batch) AS b`
        : `SELECT *, coalesce(_sql_reason <> '', false) AS _sql_rejected FROM (SELECT *, CAST((${rejectReason}) AS text) AS _sql_reason FROM _sql_batch) AS b`;
      await tx.exec(`CREATE TEMP TABLE _sql_checked ON COMMIT DROP AS ${checked}`);
      const rejected = await tx.query<{ _sql_row: number; _sql_reason: string | null }>(
        'SELECT _sql_row, _sql_reason FROM _sql_checked WHERE _sql_rejected ORDER BY _sql_row',
      );
      for (const r of rejected) ctx.reject(records[r._sql_row], String(r._sql_reason ?? 'rejected'));
      if (rejected.length === records.length) return [];
      await tx.exec(
        `CREATE TEMP TABLE ${table} ON COMMIT DROP AS SELECT ${list} FROM _sql_checked WHERE NOT _sql_rejected ORDER BY _sql_row`,
      );
    }
    return tx.query(config.query, config.params);
  });
}

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

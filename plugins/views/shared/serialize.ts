// Query results as JSON and CSV: NaN/Infinity → null, Dates → ISO strings, bigints → numbers (strings beyond 2^53).
import type { Row } from '../../../core/sdk/index.ts';
import type { ColumnInfo, ColumnType } from '../ui/types.ts';

export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v);
    return out;
  }
  return value;
}

export function normalizeRows(rows: Row[]): Row[] {
  return rows.map((row) => toJsonValue(row) as Row);
}

/** Column names and types, inferred from the values (the first non-null value of each column decides). */
export function columnsOf(rows: Row[]): ColumnInfo[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const row of rows.slice(0, 50)) {
    for (const key of Object.keys(row)) {
      if (seen.has(key)) continue;
      seen.add(key);
      names.push(key);
    }
  }
  return names.map((name) => {
    let type: ColumnType = 'null';
    for (const row of rows) {
      const t = typeOf(row[name]);
      if (t !== 'null') {
        type = t;
        break;
      }
    }
    return { name, type };
  });
}

function typeOf(value: unknown): ColumnType {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'timestamp';
  if (typeof value === 'string') return /^\d{4}-\d{2}-\d{2}$/.test(value) ? 'date' : 'string';
  return 'json';
}

/** RFC 4180 CSV with a header line. Text that a spreadsheet would run as a formula is prefixed with '. */
export function toCsv(rows: Row[], columns: string[] = columnsOf(rows).map((c) => c.name)): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(toJsonValue(row[c]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** JSON that is safe inside `<script type="application/json">`: no `</script>`, no HTML comment, no line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

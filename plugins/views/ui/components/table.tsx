// Table card body: search, sort by any column, paginate (over the rows loaded, up to the widget's limit).
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { formatValue, toNumber } from '../format.ts';
import type { ColumnInfo, Row, WidgetModel, WidgetResult } from '../types.ts';
import { ChevronIcon, SearchIcon } from './icons.tsx';

type Sort = { column: string; dir: 'asc' | 'desc' } | null;

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  const x = toNumber(a);
  const y = toNumber(b);
  if (x !== null && y !== null) return x - y;
  return String(a).localeCompare(String(b));
}

function cellText(value: unknown, column: ColumnInfo, widget: WidgetModel, locale: string): string {
  const spec = widget.columns[column.name];
  if (spec?.format || spec?.unit) return formatValue(value, { ...spec, currency: spec.currency ?? widget.currency, locale });
  if (column.type === 'number') return formatValue(value, { format: 'number', locale });
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return formatValue(value, { locale });
}

export function TableBody({ widget, result, locale }: { widget: WidgetModel; result: WidgetResult; locale: string }): JSX.Element {
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<Sort>(null);
  const [page, setPage] = useState(0);
  const columns = result.meta.columns;
  const rows = useMemo(() => {
    const needle = query.trim().toLowerCase();
    let out: Row[] = needle ? result.data.filter((row) => columns.some((c) => String(row[c.name] ?? '').toLowerCase().includes(needle))) : result.data;
    if (sort) {
      const factor = sort.dir === 'asc' ? 1 : -1;
      out = [...out].sort((a, b) => factor * compare(a[sort.column], b[sort.column]));
    }
    return out;
  }, [result, query, sort, columns]);
  const size = widget.pageSize;
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const current = Math.min(page, pages - 1);
  const visible = rows.slice(current * size, current * size + size);
  const toggle = (column: string) => {
    setSort(sort?.column !== column ? { column, dir: 'asc' } : sort.dir === 'asc' ? { column, dir: 'desc' } : null);
    setPage(0);
  };
  return (
    <div class="table">
      <div class="table-tools">
        <label class="search">
          <SearchIcon />
          <input type="search" placeholder="Search" value={query} aria-label={`Search ${widget.title}`}
            onInput={(e) => { setQuery((e.target as HTMLInputElement).value); setPage(0); }} />
        </label>
        <span class="table-count">
          {formatValue(rows.length, { format: 'integer', locale })} {rows.length === 1 ? 'row' : 'rows'}
          {result.meta.truncated && ` (first ${formatValue(result.data.length, { format: 'integer', locale })} loaded)`}
        </span>
      </div>
      <div class="table-wrap">
        <table class="data">
          <thead>
            <tr>
              {columns.map((c) => {
                const active = sort?.column === c.name;
                return (
                  <th key={c.name} class={c.type === 'number' ? 'num' : undefined} aria-sort={active ? (sort!.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                    <button type="button" onClick={() => toggle(c.name)}>
                      {widget.columns[c.name]?.label ?? c.name}
                      <span class={`sort ${active ? 'sort-on' : ''}`}><ChevronIcon dir={active && sort!.dir === 'asc' ? 'up' : 'down'} /></span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {visible.map((row, i) => (
              <tr key={i}>
                {columns.map((c) => <td key={c.name} class={c.type === 'number' ? 'num' : undefined}>{cellText(row[c.name], c, widget, locale)}</td>)}
              </tr>
            ))}
            {visible.length === 0 && <tr><td class="no-match" colSpan={Math.max(columns.length, 1)}>No row contains “{query}”.</td></tr>}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <div class="pager">
          <span>{current * size + 1}–{Math.min(rows.length, current * size + size)} of {formatValue(rows.length, { format: 'integer', locale })}</span>
          <button type="button" class="icon-btn" disabled={current === 0} onClick={() => setPage(current - 1)} aria-label="Previous page"><ChevronIcon dir="left" /></button>
          <span class="pager-page">Page {current + 1} of {pages}</span>
          <button type="button" class="icon-btn" disabled={current >= pages - 1} onClick={() => setPage(current + 1)} aria-label="Next page"><ChevronIcon dir="right" /></button>
        </div>
      )}
    </div>
  );
}

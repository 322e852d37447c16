// Table card body: one page of rows, sorted and searched by the server (the page holds only the first page);
// cells and headers through the one formatting layer.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TableQuery } from '../../api.ts';
import { columnLabel, formatCell, formatValue, type FieldContext } from '../../format.ts';
import type { WidgetModel, WidgetResult } from '../../types.ts';
import { EmptyState } from '../../components/card.tsx';
import { ChevronIcon, SearchIcon } from '../../components/icons.tsx';

interface TableProps {
  widget: WidgetModel;
  result: WidgetResult;
  context: FieldContext;
  query: TableQuery;
  onChange: (query: TableQuery) => void;
  loading?: boolean;
  timeFiltered?: boolean;
}

export function TableBody({
  widget,
  result,
  context,
  query,
  onChange,
  loading,
  timeFiltered,
}: TableProps): JSX.Element {
  const [text, setText] = useState(query.q);
  const typing = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(typing.current), []);
  const columns = result.meta.columns;
  const size = widget.pageSize;
  const total = result.meta.total ?? result.data.length;
  const pages = Math.max(1, Math.ceil(total / size));
  const page = Math.min(Math.floor(query.offset / size), pages - 1);
  const search = (value: string) => {
    setText(value);
    clearTimeout(typing.current);
    // One request when typing pauses, not one per key.
    typing.current = setTimeout(() => onChange({ ...query, q: value, offset: 0 }), 300);
  };
  const sortBy = (column: string) => {
    const next: Pick<TableQuery, 'sort' | 'order'> =
      query.sort !== column
        ? { sort: column, order: 'asc' }
        : query.order === 'asc'
          ? { sort: column, order: 'desc' }
          : { sort: null, order: 'asc' };
    onChange({ ...query, ...next, offset: 0 });
  };
  const locale = context.locale;
  return (
    <div class="table" data-total={total}>
      <div class="table-tools">
        <label class="search">
          <SearchIcon />
          <input
            type="search"
            placeholder="Search"
            value={text}
            aria-label={`Search ${widget.title}`}
            onInput={(e) => search((e.target as HTMLInputElement).value)}
          />
        </label>
        <span class="table-count">
          {formatValue(total, { format: 'integer', locale })} {total === 1 ? 'row' : 'rows'}
          {query.q.trim() ? ` containing “${query.q.trim()}”` : ''}
        </span>
      </div>
      {result.data.length === 0 && !query.q.trim() ? (
        <EmptyState result={result} timeFiltered={timeFiltered} />
      ) : (
        <div class="table-wrap">
          <table class="data">
            <thead>
              <tr>
                {columns.map((c) => {
                  const active = query.sort === c.name;
                  return (
                    <th
                      key={c.name}
                      class={c.type === 'number' ? 'num' : undefined}
                      aria-sort={active ? (query.order === 'asc' ? 'ascending' : 'descending') : 'none'}
                    >
                      <button type="button" onClick={() => sortBy(c.name)} data-column={c.name}>
                        {columnLabel(c.name, widget.columns[c.name], c, context.timeZone)}
                        <span class={`sort ${active ? 'sort-on' : ''}`}>
                          <ChevronIcon dir={active && query.order === 'asc' ? 'up' : 'down'} />
                        </span>
                      </button>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {result.data.map((row, i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c.name} class={c.type === 'number' ? 'num' : undefined}>
                      {formatCell(
                        row[c.name],
                        c,
                        widget.columns[c.name],
                        { ...context, currency: widget.currency ?? context.currency },
                        row,
                      )}
                    </td>
                  ))}
                </tr>
              ))}
              {result.data.length === 0 && (
                <tr>
                  <td class="no-match" colSpan={Math.max(columns.length, 1)}>
                    No row contains “{query.q}”.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <div class="pager">
          <span>
            {formatValue(page * size + 1, { format: 'integer', locale })}–
            {formatValue(Math.min(total, page * size + size), { format: 'integer', locale })} of{' '}
            {formatValue(total, { format: 'integer', locale })}
          </span>
          <button
            type="button"
            class="icon-btn"
            disabled={page === 0 || loading}
            onClick={() => onChange({ ...query, offset: (page - 1) * size })}
            aria-label="Previous page"
          >
            <ChevronIcon dir="left" />
          </button>
          <span class="pager-page">
            Page {page + 1} of {formatValue(pages, { format: 'integer', locale })}
          </span>
          <button
            type="button"
            class="icon-btn"
            disabled={page >= pages - 1 || loading}
            onClick={() => onChange({ ...query, offset: (page + 1) * size })}
            aria-label="Next page"
          >
            <ChevronIcon dir="right" />
          </button>
        </div>
      )}
    </div>
  );
}

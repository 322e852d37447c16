// The `table` widget: rows paged, sorted and searched by the server (the page holds one page).
import type { JSX } from 'preact';
import type { DataBodyProps, DataWidgetContribution } from '../contribution.ts';
import { TableBody } from './body.tsx';

function Body({ widget, result, context, table, onTable, loading, timeFiltered }: DataBodyProps): JSX.Element {
  return (
    <TableBody
      widget={widget}
      result={result}
      context={context}
      query={table}
      onChange={onTable}
      loading={loading}
      timeFiltered={timeFiltered}
    />
  );
}

export default {
  type: 'table',
  query: true,
  properties: {
    pageSize: {
      type: 'integer',
      minimum: 1,
      maximum: 500,
      default: 10,
      description:
        'table: rows per page (a table is paged, sorted and searched by the server; the page holds one page).',
    },
  },
  width: 4,
  skeleton: 'table',
  csv: true,
  paged: true,
  shows: { empty: true },
  Body,
} as const satisfies DataWidgetContribution;

// Reads every KPI figure the monitor produced — the DuckDB table, /api/kpis/latest (JSON and CSV), the CSV export file
// and the dashboard's table widget — in the shape of the independent computation of ./revenue-monitor.ts.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { SqlClient } from '../../core/sdk/index.ts';
import type { PipelineRun } from '../../tests/pipelines.ts';
import { splitCsvLine } from './csv.ts';
import type { WindowRow } from './revenue-monitor.ts';

export const COLUMNS = [
  'window_start',
  'window_end',
  'events_count',
  'purchases_count',
  'revenue',
  'payment_fail_rate',
  'active_users_30m',
  'data_freshness_minutes',
  'alert_flag',
  'avg_latency_ms',
  'p95_latency_ms',
  'sla_breach_flag',
  'alert_reason',
  'failed_count',
] as const;

/**
 * kpi_windows, oldest first, timestamps as ISO text: of the run's state connection (`warehouse`, DuckDB, by default;
 * `postgres` with MONITOR_STATE=postgres), or of any SQL client.
 */
export async function kpiTable(run: PipelineRun | SqlClient, connection = 'warehouse'): Promise<WindowRow[]> {
  const db = 'pipeline' in run ? await run.pipeline.connections.get<SqlClient>(connection) : run;
  const iso = (column: string) =>
    db.dialect === 'duckdb'
      ? `strftime(timezone('UTC', ${column}), '%Y-%m-%dT%H:%M:%S.%gZ')`
      : `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const rows = await db.query(
    `SELECT *, ${iso('window_start')} AS start_text, ${iso('window_end')} AS end_text FROM kpi_windows ORDER BY window_start`,
  );
  return rows.map(
    (r) =>
      Object.fromEntries(
        COLUMNS.map((c) => [c, c === 'window_start' ? r.start_text : c === 'window_end' ? r.end_text : r[c]]),
      ) as unknown as WindowRow,
  );
}

/** Exactly the independent computation's rows, with `partial` as of `now` (newest first, as the API and export list them). */
function newestFirst(want: WindowRow[], now: Date) {
  return [...want].reverse().map((w) => ({ ...w, partial: Date.parse(w.window_end) > now.getTime() }));
}

/**
 * The table, /api/kpis/latest (JSON: rows, partial flags, status and reasons; CSV), the export file and the
 * dashboard's table widget all hold exactly `want`; the status is `status`.
 */
export async function expectEverywhere(
  run: PipelineRun,
  csvFile: string,
  want: WindowRow[],
  status: { status: string; reasons: string[] },
  now = new Date(),
  connection = 'warehouse',
) {
  expect(await kpiTable(run, connection)).toEqual(want);
  const app = await run.app();
  const listed = newestFirst(want, now);
  const api = (await (await app.request('/api/kpis/latest?limit=500')).json()) as {
    data: Record<string, unknown>[];
    status: string;
    reasons: string[];
  };
  expect(api.data).toEqual(listed.slice(0, 500));
  expect({ status: api.status, reasons: api.reasons }).toEqual({ status: status.status, reasons: status.reasons });
  const apiCsv = (await (await app.request('/api/kpis/latest?limit=500&format=csv')).text())
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r?\n/);
  expect(splitCsvLine(apiCsv[0])).toEqual([...COLUMNS, 'partial']);
  expect(apiCsv.slice(1).map(splitCsvLine)).toEqual(
    listed.slice(0, 500).map((w) => [...COLUMNS, 'partial'].map((c) => String(w[c as keyof typeof w]))),
  );
  // The export file: the whole table, newest first, decimals as exact short text.
  const exported = readFileSync(csvFile, 'utf8').trim().split(/\r?\n/);
  expect(splitCsvLine(exported[0])).toEqual([...COLUMNS, 'partial']);
  const exact = (w: WindowRow, c: (typeof COLUMNS)[number]) =>
    c === 'revenue' ? w.revenue.toFixed(2) : c === 'payment_fail_rate' ? w.payment_fail_rate.toFixed(4) : String(w[c]);
  expect(exported.slice(1).map((line) => splitCsvLine(line).slice(0, COLUMNS.length))).toEqual(
    listed.map((w) => COLUMNS.map((c) => exact(w, c))),
  );
  expect(exported.slice(1).map((line) => splitCsvLine(line)[COLUMNS.length])).toEqual(
    listed.map((w) => String(w.partial)),
  );
  // The dashboard's table widget and its status card.
  const table = (await (await app.request('/api/views/monitor/kpi_table?period=all&limit=1000')).json()) as {
    data: Record<string, unknown>[];
  };
  expect(table.data).toEqual(
    listed.map((w) => ({
      window_start: w.window_start,
      window_end: w.window_end,
      partial: w.partial,
      events_count: w.events_count,
      purchases_count: w.purchases_count,
      failed_count: w.failed_count,
      revenue: w.revenue,
      payment_fail_rate: w.payment_fail_rate,
      avg_latency_ms: w.avg_latency_ms,
      p95_latency_ms: w.p95_latency_ms,
      active_users_30m: w.active_users_30m,
      data_freshness_minutes: w.data_freshness_minutes,
      alert_flag: w.alert_flag,
      alert_reason: w.alert_reason,
    })),
  );
  const card = (await (await app.request('/api/views/monitor/status')).json()) as { status: string; reasons: string[] };
  expect({ status: card.status, reasons: card.reasons }).toEqual({ status: status.status, reasons: status.reasons });
  return api;
}

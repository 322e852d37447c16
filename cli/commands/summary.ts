import type { Pipeline } from '../../core/runtime/pipeline.ts';

/**
 * The per-step table printed after `platform run --once`: in, out and rejected count this run's records (the same
 * the runtime's stats and an upload's answer count); "dead letters" is what the store holds for the step, all time.
 */
export function formatSummary(pipeline: Pipeline, elapsedMs: number): string {
  const rows = pipeline
    .stats()
    .filter((s) => s.kind !== 'view')
    .map((s) => [
      s.id,
      s.kind,
      s.use,
      s.kind === 'source' ? '' : String(s.recordsIn),
      String(s.recordsOut),
      String(s.run.rejected),
      String(s.rejected),
      String(s.errors),
      `${Math.round(pipeline.busyMs(s.id))} ms`,
      `${s.batchesInDuckDb}/${s.batches}`,
    ]);
  // "in DuckDB": of the step's batches, how many stayed DuckDB tables (never converted to JS records).
  const header = [
    'step',
    'kind',
    'plugin',
    'in',
    'out',
    'rejected',
    'dead letters (all time)',
    'errors',
    'busy',
    'in DuckDB',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const total = pipeline.deadLetters.count();
  const thisRun = pipeline.stats().reduce((sum, s) => sum + s.run.rejected, 0);
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `done in ${(elapsedMs / 1000).toFixed(1)} s; this run: ${thisRun} record(s) rejected; all time: ${total} record(s) in dead-letter (${pipeline.deadLetters.file})`,
  ].join('\n');
}

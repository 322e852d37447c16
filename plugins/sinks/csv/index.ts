import { pluginModule } from '../../../core/sdk/index.ts';
import { fileSinkClass, fileSinkConfig } from '../shared/file-sink.ts';

export type { FileSink } from '../shared/file-sink.ts';

export default pluginModule(
  {
    kind: 'sink',
    name: 'csv',
    stability: 'stable',
    connectionTypes: ['duckdb'],
    summary:
      'Writes CSV files (header, ISO-8601 UTC timestamps) through DuckDB, partitioned by date: a new file per batch, appended, or an atomically replaced export.',
    config: fileSinkConfig('csv'),
    examples: [
      {
        title: 'A Tableau-friendly export rewritten on every commit',
        yaml: 'export:\n  use: csv\n  from: kpis\n  with: { path: exports/kpis.csv, mode: overwrite }\n',
      },
      {
        title: 'One file per day, appended to',
        yaml: 'daily:\n  use: csv\n  from: orders\n  with: { path: "out/{YYYY}/{MM}/{DD}/orders.csv", partitionBy: ordered_at, mode: append }\n',
      },
    ],
  },
  fileSinkClass('csv'),
);

import { pluginModule } from '../../../core/sdk/index.ts';
import { fileSinkClass, fileSinkConfig } from '../shared/file-sink.ts';

export default pluginModule(
  {
    kind: 'sink',
    name: 'parquet',
    stability: 'stable',
    connectionTypes: ['duckdb'],
    summary: 'Writes Parquet files (cold storage) through DuckDB, partitioned by date, one new file per batch.',
    config: fileSinkConfig('parquet'),
    examples: [
      {
        title: 'Raw events to a date-partitioned lake',
        yaml: 'lake:\n  use: parquet\n  from: events\n  with: { path: "lake/events/{YYYY}/{MM}/{DD}/part-{uuid}.parquet", partitionBy: event_ts }\n',
      },
    ],
  },
  fileSinkClass('parquet'),
);

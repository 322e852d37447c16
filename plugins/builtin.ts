// Every built-in plugin, contributed by kind and name: its module (spec, class and what they import) is imported when a
// manifest uses it (`lazyPluginModule`, see PluginCatalog.require), so a run loads the code of its own steps only.
// Third-party plugins come from the manifest's `plugins:`.
import { lazyPluginModule, type ContainerModule } from '../core/sdk/index.ts';

export const builtinPluginModules: ContainerModule[] = [
  lazyPluginModule('source', 'duckdb', () => import('./sources/duckdb/index.ts')),
  lazyPluginModule('source', 'file', () => import('./sources/file/index.ts')),
  lazyPluginModule('source', 'generator', () => import('./sources/generator/index.ts')),
  lazyPluginModule('source', 'kafka', () => import('./sources/kafka/index.ts')),
  lazyPluginModule('source', 'mongodb', () => import('./sources/mongodb/index.ts')),
  lazyPluginModule('source', 'postgres', () => import('./sources/postgres/index.ts')),
  lazyPluginModule('source', 's3', () => import('./sources/s3/index.ts')),
  lazyPluginModule('transform', 'dedupe', () => import('./transforms/dedupe/index.ts')),
  lazyPluginModule('transform', 'sql', () => import('./transforms/sql/index.ts')),
  lazyPluginModule('transform', 'validate', () => import('./transforms/validate/index.ts')),
  lazyPluginModule('transform', 'window', () => import('./transforms/window/index.ts')),
  lazyPluginModule('sink', 'console', () => import('./sinks/console/index.ts')),
  lazyPluginModule('sink', 'csv', () => import('./sinks/csv/index.ts')),
  lazyPluginModule('sink', 'duckdb', () => import('./sinks/duckdb/index.ts')),
  lazyPluginModule('sink', 'kafka', () => import('./sinks/kafka/index.ts')),
  lazyPluginModule('sink', 'mongodb', () => import('./sinks/mongodb/index.ts')),
  lazyPluginModule('sink', 'parquet', () => import('./sinks/parquet/index.ts')),
  lazyPluginModule('sink', 'postgres', () => import('./sinks/postgres/index.ts')),
  lazyPluginModule('sink', 's3', () => import('./sinks/s3/index.ts')),
  lazyPluginModule('view', 'dashboard', () => import('./views/dashboard/index.ts')),
  lazyPluginModule('view', 'api', () => import('./views/api/index.ts')),
];

// Every built-in plugin, one ContainerModule each. Third-party plugins come from the manifest's `plugins:`.
import type { ContainerModule } from 'inversify';
import duckdbSource from './sources/duckdb/index.ts';

export const builtinPluginModules: ContainerModule[] = [duckdbSource];

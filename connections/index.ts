// Built-in connection types. Each lives in its own folder and exports one ContainerModule.
import duckdb from './duckdb/index.ts';
import kafka from './kafka/index.ts';
import mongodb from './mongodb/index.ts';
import postgres from './postgres/index.ts';
import s3 from './s3/index.ts';

export const builtinConnectionModules = [duckdb, kafka, mongodb, postgres, s3];

// Every built-in plugin, one ContainerModule each. Third-party plugins come from the manifest's `plugins:`.
import type { ContainerModule } from 'inversify';
import duckdbSource from './sources/duckdb/index.ts';
import fileSource from './sources/file/index.ts';
import generatorSource from './sources/generator/index.ts';
import kafkaSource from './sources/kafka/index.ts';
import mongodbSource from './sources/mongodb/index.ts';
import postgresSource from './sources/postgres/index.ts';
import s3Source from './sources/s3/index.ts';
import dedupeTransform from './transforms/dedupe/index.ts';
import sqlTransform from './transforms/sql/index.ts';
import validateTransform from './transforms/validate/index.ts';
import windowTransform from './transforms/window/index.ts';
import consoleSink from './sinks/console/index.ts';
import csvSink from './sinks/csv/index.ts';
import duckdbSink from './sinks/duckdb/index.ts';
import kafkaSink from './sinks/kafka/index.ts';
import mongodbSink from './sinks/mongodb/index.ts';
import parquetSink from './sinks/parquet/index.ts';
import postgresSink from './sinks/postgres/index.ts';
import s3Sink from './sinks/s3/index.ts';
import { viewPluginModules } from './views/index.ts';

export const builtinPluginModules: ContainerModule[] = [
  duckdbSource,
  fileSource,
  generatorSource,
  kafkaSource,
  mongodbSource,
  postgresSource,
  s3Source,
  dedupeTransform,
  sqlTransform,
  validateTransform,
  windowTransform,
  consoleSink,
  csvSink,
  duckdbSink,
  kafkaSink,
  mongodbSink,
  parquetSink,
  postgresSink,
  s3Sink,
  ...viewPluginModules,
];

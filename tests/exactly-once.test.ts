// Exactly-once appends under kill -9. CSV files are read in batches by `platform run --once` into every sink that
// appends — DuckDB (records, and rows held in DuckDB), PostgreSQL, CSV (append and new files), Parquet, S3 (MinIO),
// MongoDB (FerretDB) and Kafka — all in one process, writing each batch in parallel; the process is SIGKILLed at 20
// random points while it works, then runs to the end. Every sink must hold every row exactly once: without batch
// identities (before) a kill between a sink's write and the checkpoint left that batch twice in the sink.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './cli.ts';
import { Scratch, service } from './services.ts';

const FILES = 20;
const ROWS = 1000; // per file: ids file*ROWS … file*ROWS+ROWS-1
const TOTAL = FILES * ROWS;
const BATCH = 250; // records per batch of the JS path: 4 batches a file, 80 in all
const RESIDENT_BATCH = 400; // rows per batch held in DuckDB: 3 batches a file (400, 400, 200)
const KILLS = 20;

const scratch = new Scratch();
afterAll(() => scratch.drop());

interface Tally {
  rows: number;
  ids: number;
  min: number;
  max: number;
}

const tally = (ids: number[]): Tally => ({
  rows: ids.length,
  ids: new Set(ids).size,
  min: Math.min(...ids),
  max: Math.max(...ids),
});
const exact: Tally = { rows: TOTAL, ids: TOTAL, min: 0, max: TOTAL - 1 };
const log = (what: string) => console.error(`${new Date().toISOString().slice(11, 23)} exactly-once: ${what}`);

function csvFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < FILES; f++) {
    const lines = ['id,file,amount,note'];
    for (let i = 0; i < ROWS; i++) {
      const id = f * ROWS + i;
      lines.push(`${id},${f},${((id * 7919) % 100_000) / 100},${i % 10 ? 'plain' : '"quoted, ""text"""'}`);
    }
    writeFileSync(join(dir, `part-${String(f).padStart(3, '0')}.csv`), lines.join('\n') + '\n');
  }
}

/** Runs `platform run --once` until it exits (or is killed: `kill` resolves when to). */
function run(
  args: string[],
  kill?: (child: ReturnType<typeof spawn>) => Promise<boolean>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'cli/bin.mjs'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, PLATFORM_LOG_LEVEL: 'warn' },
    });
    let output = '';
    let killed = false;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output, killed }));
    void kill?.(child).then((done) => (killed = done));
  });
}

describe('exactly-once appends under kill -9 (real PostgreSQL, FerretDB, MinIO, Kafka)', () => {
  it(`every append sink holds each of ${TOTAL.toLocaleString('en-US')} rows exactly once after ${KILLS} SIGKILLs at random points`, async () => {
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'exactly-once-'));
    const pgUrl = await scratch.database('once');
    const mongoDatabase = scratch.mongoDatabase('once');
    const bucket = scratch.bucket('once');
    const topic = scratch.topic('once'); // its ledger group (<topic>.platform-sink.…) goes with it
    csvFiles(join(dir, 'data'));
    const manifest = join(dir, 'once.yaml');
    writeFileSync(
      manifest,
      `name: once
defaults: { retries: 5, backoff: 200ms }
connections:
  warehouse: { type: duckdb, path: "${join(dir, 'warehouse.duckdb')}" }
  pg: { type: postgres, url: "${pgUrl}" }
  docs: { type: mongodb, url: "${service('MONGO_URL')}", database: ${mongoDatabase} }
  lake: { type: s3, endpoint: "${service('S3_ENDPOINT')}", accessKeyId: ${service('S3_ACCESS_KEY')}, secretAccessKey: ${service('S3_SECRET_KEY')}, region: ${service('S3_REGION')} }
  bus: { type: kafka, brokers: "${service('KAFKA_BROKERS')}" }
sources:
  files: { use: file, with: { path: "${join(dir, 'data')}/*.csv", batchSize: ${BATCH} } }
  resident: { use: file, connection: warehouse, with: { path: "${join(dir, 'data')}/*.csv", batchSize: ${RESIDENT_BATCH} } }
sinks:
  to-duckdb: { use: duckdb, from: files, connection: warehouse, with: { table: rows_js, createTable: true } }
  to-duckdb-resident: { use: duckdb, from: resident, connection: warehouse, with: { table: rows_resident, createTable: true } }
  to-postgres: { use: postgres, from: files, connection: pg, with: { table: rows, createTable: true, columns: { id: integer, file: integer, amount: numeric, note: text } } }
  to-csv: { use: csv, from: files, with: { path: "${join(dir, 'out/csv/rows.csv')}", mode: append } }
  to-csv-files: { use: csv, from: files, with: { path: "${join(dir, 'out/csv-files/part.csv')}" } }
  to-parquet: { use: parquet, from: files, with: { path: "${join(dir, 'out/parquet/part-{uuid}.parquet')}" } }
  to-s3: { use: s3, from: files, connection: lake, with: { bucket: ${bucket}, key: "rows/part-{uuid}.csv" } }
  to-mongodb: { use: mongodb, from: files, connection: docs, with: { collection: rows, mode: append } }
  to-kafka: { use: kafka, from: files, connection: bus, with: { topic: ${topic}, key: file, partitions: 3 } }
`,
    );
    const stateDir = join(dir, 'state');
    const args = ['run', manifest, '--once', '--state-dir', stateDir];
    const checkpoint = () => {
      try {
        return JSON.stringify(JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')).files?.checkpoint ?? null);
      } catch {
        return 'unreadable';
      }
    };
    /** Rows the source's committed checkpoint accounts for. */
    const committedRows = () => {
      const cp = JSON.parse(checkpoint()) as { files: Record<string, unknown>; partial?: { batches: number } } | null;
      return cp ? Object.keys(cp.files).length * ROWS + (cp.partial?.batches ?? 0) * BATCH : 0;
    };
    const pgPool = new pg.Pool({ connectionString: pgUrl, max: 1 });
    const mongo = new MongoClient(service('MONGO_URL'));
    const countNow = async () => ({
      postgres: Number(
        (await pgPool.query('SELECT count(*)::int AS n FROM rows').catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n,
      ),
      mongodb: await mongo.db(mongoDatabase).collection('rows').countDocuments(),
      csv: existsSync(join(dir, 'out/csv/rows.csv'))
        ? Math.max(0, readFileSync(join(dir, 'out/csv/rows.csv'), 'utf8').split('\n').length - 2)
        : 0,
    });
    // Kills after which a sink held rows the checkpoint did not account for yet: a batch written, its checkpoint not
    // stored. Without exactly-once appends each of these leaves that batch twice once the run goes on.
    const windows: Record<string, number> = { postgres: 0, mongodb: 0, csv: 0 };
    const delays: number[] = [];
    let kills = 0;
    try {
      while (kills < KILLS) {
        const before = checkpoint();
        const result = await run(args, async (child) => {
          // Kill only once the run is at work (a checkpoint moved), at a random point after that.
          while (checkpoint() === before && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
          if (child.exitCode !== null) return false;
          const delay = Math.floor(Math.random() * 300);
          await new Promise((r) => setTimeout(r, delay));
          if (child.exitCode !== null) return false;
          delays.push(delay);
          return child.kill('SIGKILL');
        });
        if (!result.killed) {
          // It finished before the kill: everything is read; no point in more kills.
          expect(result.code, result.output.slice(-3000)).toBe(0);
          break;
        }
        kills++;
        const committed = committedRows();
        const counts = await countNow();
        for (const [sink, rows] of Object.entries(counts)) if (rows > committed) windows[sink]++;
        log(
          `kill ${kills} after ${delays.at(-1)} ms: committed ${committed} rows; postgres ${counts.postgres}, mongodb ${counts.mongodb}, csv ${counts.csv}`,
        );
      }
      // Enough data for 20 kills: the run above never finished on its own.
      expect(kills).toBe(KILLS);
      const last = await run(args);
      expect(last.code, last.output.slice(-3000)).toBe(0);
      log(
        `finished after ${kills} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; kills inside a write-before-checkpoint window: ${JSON.stringify(windows)}`,
      );
      // The test did hit the window it is about (a kill between a sink's write and the checkpoint).
      expect(Object.values(windows).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

      const results: Record<string, Tally> = {};
      const duck = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
      const lake = await duck.connect();
      const query = async (sql: string) => (await lake.runAndReadAll(sql)).getRowObjectsJS().map((r) => Number(r.id));
      results.duckdb = tally(await query('SELECT id FROM rows_js'));
      results['duckdb (rows held in DuckDB)'] = tally(await query('SELECT id FROM rows_resident'));
      results['csv (append)'] = tally(await query(`SELECT id FROM read_csv('${join(dir, 'out/csv/rows.csv')}')`));
      results['csv (new files)'] = tally(
        await query(`SELECT id FROM read_csv('${join(dir, 'out/csv-files')}/*.csv', union_by_name = true)`),
      );
      results.parquet = tally(await query(`SELECT id FROM read_parquet('${join(dir, 'out/parquet')}/*.parquet')`));
      lake.closeSync();
      duck.closeSync();
      results.postgres = tally((await pgPool.query('SELECT id FROM rows')).rows.map((r) => Number(r.id)));
      results.mongodb = tally(
        (
          await mongo
            .db(mongoDatabase)
            .collection('rows')
            .find({}, { projection: { _id: 0, id: 1 } })
            .toArray()
        ).map((d) => Number(d.id)),
      );
      results.s3 = tally(await objectIds(bucket));
      results.kafka = tally(await topicIds(topic));
      log(`results: ${JSON.stringify(results)}`);
      for (const [sink, result] of Object.entries(results)) expect(result, sink).toEqual(exact);
      log(`whole test ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await pgPool.end();
      await mongo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);
});

/** The ids of every row of every object in the bucket. */
async function objectIds(bucket: string): Promise<number[]> {
  const s3 = new S3Client({
    endpoint: service('S3_ENDPOINT'),
    region: service('S3_REGION'),
    forcePathStyle: true,
    credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
  });
  const ids: number[] = [];
  try {
    let next: string | undefined;
    do {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: next }));
      for (const object of listed.Contents ?? []) {
        const text = await (
          await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))
        ).Body!.transformToString();
        const [header, ...lines] = text.trim().split('\n');
        const column = header.split(',').indexOf('id');
        for (const line of lines) if (/^\d/.test(line)) ids.push(Number(line.split(',')[column]));
      }
      next = listed.NextContinuationToken;
    } while (next);
  } finally {
    s3.destroy();
  }
  return ids;
}

/** The ids of every committed message on the topic, read by a bare kafkajs consumer (read_committed, its default). */
async function topicIds(topic: string): Promise<number[]> {
  const kafka = new Kafka({
    clientId: 'exactly-once',
    brokers: [service('KAFKA_BROKERS')],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: scratch.group('once-check') });
  const ids: number[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let last = Date.now();
    await consumer.run({
      eachMessage: async ({ message }) =>
        void (ids.push(Number(JSON.parse(message.value!.toString()).id)), (last = Date.now())),
    });
    // Until every row is there and nothing more (a duplicate) has come for 2 s.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (ids.length < TOTAL || Date.now() - last < 2000))
      await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return ids;
}

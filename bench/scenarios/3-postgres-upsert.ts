// 3. PostgreSQL upsert sink: rows, half of them conflicting, next to a hand-written COPY into a staging table plus
// one INSERT … ON CONFLICT (the limit), and batched multi-row INSERT … ON CONFLICT (what most code does).
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createTestStep } from '../../core/testing.ts';
import { toCsv } from '../../connections/postgres/index.ts';
import sink, { type PostgresSink } from '../../plugins/sinks/postgres/index.ts';
import { Scratch, uniqueName } from '../../tests/services.ts';
import { scale, timeMedian, type Result } from '../lib.ts';

const COLUMNS = ['id', 'customer', 'amount', 'at'];

export async function postgresUpsert(): Promise<Result[]> {
  // A database of its own, dropped at the end with every table made for the runs: the server is shared.
  const scratch = new Scratch();
  try {
    return await measure(await scratch.database('bench_upsert'));
  } finally {
    await scratch.drop();
  }
}

async function measure(url: string): Promise<Result[]> {
  const rows = Math.round(1_000_000 * scale);
  const half = Math.floor(rows / 2);
  // Existing ids 0..rows-1 (half of them); the upsert brings ids half..half+rows-1: half conflict, half are new.
  const existing = Array.from({ length: rows }, (_, i) => ({
    id: i,
    customer: `C${i % 1000}`,
    amount: i / 100,
    at: new Date(1714557600000 + i * 1000),
  })).slice(0, rows);
  const incoming = Array.from({ length: rows }, (_, j) => {
    const i = half + j;
    return { id: i, customer: `C${i % 1000}`, amount: i / 50, at: new Date(1714557600000 + i * 1000) };
  });
  const db = new pg.Pool({ connectionString: url, max: 4 });
  let table = '';
  const setup = async () => {
    table = uniqueName('upsert');
    await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, customer text, amount numeric, at timestamptz)`);
    const client = await db.connect();
    await pipeline(
      Readable.from([toCsv(existing, COLUMNS)]),
      client.query(copyFrom(`COPY ${table} (${COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv)`)),
    );
    client.release();
  };
  const check = async () => {
    const {
      rows: [r],
    } = await db.query(`SELECT count(*)::int AS n FROM ${table}`);
    if (r.n !== half + rows) throw new Error(`upsert: ${r.n} rows, expected ${half + rows}`);
  };

  const limit = await timeMedian(async () => {
    const client = await db.connect();
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE s (LIKE ${table}) ON COMMIT DROP`);
    await pipeline(
      Readable.from([toCsv(incoming, COLUMNS)]),
      client.query(copyFrom(`COPY s (${COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv)`)),
    );
    await client.query(
      `INSERT INTO ${table} SELECT * FROM s ON CONFLICT (id) DO UPDATE SET customer = EXCLUDED.customer, amount = EXCLUDED.amount, at = EXCLUDED.at`,
    );
    await client.query('COMMIT');
    client.release();
    await check();
  }, setup);

  const ours = await timeMedian(async () => {
    const step = await createTestStep<PostgresSink>(
      sink,
      'sink',
      { table, mode: 'upsert', key: ['id'] },
      { connections: { db: { type: 'postgres', url } }, connection: 'db' },
    );
    for (let i = 0; i < incoming.length; i += 50_000)
      await step.plugin.write(incoming.slice(i, i + 50_000), step.context());
    await step.close();
    await check();
  }, setup);

  const batched = await timeMedian(
    async () => {
      for (let i = 0; i < incoming.length; i += 1000) {
        const chunk = incoming.slice(i, i + 1000);
        const values = chunk.map((_, j) => `($${j * 4 + 1}, $${j * 4 + 2}, $${j * 4 + 3}, $${j * 4 + 4})`).join(', ');
        await db.query(
          `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${values} ON CONFLICT (id) DO UPDATE SET customer = EXCLUDED.customer, amount = EXCLUDED.amount, at = EXCLUDED.at`,
          chunk.flatMap((r) => [r.id, r.customer, r.amount, r.at]),
        );
      }
      await check();
    },
    setup,
    1,
  );
  await db.end();
  const rate = (s: number) => rows / s;
  return [
    {
      id: '3',
      title: `PostgreSQL upsert sink: ${rows.toLocaleString('en-US')} rows, half conflicting`,
      ours: rate(ours),
      limit: rate(limit),
      unit: 'rows/s',
      ratio: limit / ours,
      target: '≥ 0.8×',
      met: limit / ours >= 0.8,
      note: `sink in 50k batches ${ours.toFixed(2)} s vs one staged COPY + ON CONFLICT ${limit.toFixed(2)} s`,
    },
    {
      id: '3b',
      title: 'PostgreSQL upsert sink vs batched multi-row INSERT … ON CONFLICT (1,000 rows a statement)',
      ours: rate(ours),
      limit: rate(batched),
      unit: 'rows/s',
      ratio: batched / ours,
      target: '≥ 2×',
      met: batched / ours >= 2,
      note: `batched INSERT ${batched.toFixed(2)} s (one run); ratio = how many times faster the sink is`,
    },
  ];
}

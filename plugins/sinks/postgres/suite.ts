import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { rowCount, type BatchIdentity } from '../../../core/sdk/index.ts';
import type { PostgresClient } from '../../../connections/postgres/index.ts';
import sink, { type PostgresSink } from './index.ts';
import source, { type PostgresSource } from '../../sources/postgres/index.ts';

/** The same tests run on embedded PGlite here and on the real server in postgres.real.test.ts. One connection registry per test, as in a pipeline. */
export function postgresSuite(name: string, connection: () => Record<string, unknown> & { type: string }) {
  const options = (stateDir = mkdtempSync(join(tmpdir(), 'pg-'))) => ({
    connections: { db: connection() },
    connection: 'db',
    stateDir,
  });
  const table = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;

  describe(`postgres sink and source (${name})`, () => {
    it('appends with COPY and reads back the same content, with awkward text intact', async () => {
      const t = table('append');
      const opts = options();
      const writer = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: t,
          createTable: true,
          columns: { id: 'integer', note: 'text', amount: 'numeric(12,2)', at: 'timestamptz' },
        },
        opts,
      );
      const rows = Array.from({ length: 300 }, (_, i) => ({
        id: i,
        note: i % 3 ? `a "quoted", comma\nline ${i}` : null,
        amount: i + 0.25,
        at: new Date(Date.UTC(2024, 0, 1, 0, i)),
      }));
      await writer.plugin.write(rows, writer.context());
      const reader = await createTestStep<PostgresSource>(
        source,
        'source',
        { table: t, mode: 'snapshot', pageSize: 128 },
        { ...opts, services: { connections: writer.services.connections } },
      );
      const { records } = await readAll(reader.plugin);
      expect(records.sort((a, b) => (a.id as number) - (b.id as number))).toEqual(rows);
      // A snapshot run is one whole result: its pages are marked first / last (a replace-mode sink takes them all).
      const marks = [];
      for await (const batch of reader.plugin.read({
        once: true,
        signal: new AbortController().signal,
        checkpoint: undefined,
      }))
        marks.push([rowCount(batch.records), batch.snapshot]);
      expect(marks).toEqual([
        [128, { first: true, last: false }],
        [128, { first: false, last: false }],
        [44, { first: false, last: true }],
      ]);
      await writer.close();
    });

    it('upserts idempotently: same batch twice changes nothing, last row of a key wins, unchanged rows are not rewritten', async () => {
      const t = table('upsert');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, mode: 'upsert', key: ['id'], createTable: true, columns: { id: 'text', v: 'integer' } },
        options(),
      );
      const db = await step.services.connections.get<PostgresClient>('db');
      await step.plugin.write(
        [
          { id: 'a', v: 1 },
          { id: 'b', v: 2 },
          { id: 'a', v: 3 },
        ],
        step.context(),
      );
      const before = await db.query(`SELECT id, v, xmin::text AS xmin FROM ${t} ORDER BY id`);
      await step.plugin.write(
        [
          { id: 'a', v: 3 },
          { id: 'b', v: 2 },
        ],
        step.context(),
      );
      const after = await db.query(`SELECT id, v, xmin::text AS xmin FROM ${t} ORDER BY id`);
      expect(after).toEqual(before); // same values and same row versions: nothing rewritten
      expect(after.map(({ id, v }) => ({ id, v }))).toEqual([
        { id: 'a', v: 3 },
        { id: 'b', v: 2 },
      ]);
      await step.plugin.write([{ id: 'b', v: 20 }], step.context());
      expect(await db.query(`SELECT id, v FROM ${t} ORDER BY id`)).toEqual([
        { id: 'a', v: 3 },
        { id: 'b', v: 20 },
      ]);
      await step.close();
    });

    it('appends a batch with an identity exactly once: delivered again (a crash before its checkpoint) it is skipped; its ledger row commits with its rows', async () => {
      const t = table('once');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, createTable: true, columns: { id: 'integer PRIMARY KEY', v: 'text' } },
        options(),
      );
      const db = await step.services.connections.get<PostgresClient>('db');
      const batch = (n: number): BatchIdentity => ({
        id: `${n}`.repeat(32),
        writer: `writer-${t}`,
        origin: `files a.csv#${n}`,
      });
      const ctx = (n?: number) => ({ ...step.context(), ...(n ? { batch: batch(n) } : {}) });
      await step.plugin.write(
        [
          { id: 1, v: 'a' },
          { id: 2, v: 'b' },
        ],
        ctx(1),
      );
      await step.plugin.write(
        [
          { id: 1, v: 'a' },
          { id: 2, v: 'b' },
        ],
        ctx(1),
      ); // again: no duplicate key error, nothing written
      await step.plugin.write([{ id: 3, v: 'c' }], ctx(2));
      // A write that fails leaves no ledger row: the batch is written when it comes again.
      await expect(step.plugin.write([{ id: 4 }, { id: 1 }], ctx(3))).rejects.toThrow(/duplicate key value/);
      await step.plugin.write([{ id: 4 }, { id: 5 }], ctx(3));
      expect(await db.query(`SELECT id FROM ${t} ORDER BY id`)).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
      expect(
        await db.query(
          `SELECT batch, target, origin, records::int AS records FROM _platform_batches WHERE writer = $1 ORDER BY batch`,
          [`writer-${t}`],
        ),
      ).toEqual(
        [1, 2, 3].map((n) => ({
          batch: batch(n).id,
          target: t,
          origin: batch(n).origin,
          records: n === 2 ? 1 : 2,
        })),
      );
      expect(step.logs.filter((l) => l.includes('batch already written'))).toHaveLength(1);
      // Without an identity a batch is appended each time it comes, as before.
      await step.plugin.write([{ id: 6 }], ctx());
      await expect(step.plugin.write([{ id: 6 }], ctx())).rejects.toThrow(/duplicate key value/);
      await step.close();
    });

    it('lets the last record of a key win also when only PostgreSQL sees the keys as equal (1 and 1.0 in a numeric key)', async () => {
      const t = table('equalkeys');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, mode: 'upsert', key: ['id'], createTable: true, columns: { id: 'numeric', v: 'text' } },
        options(),
      );
      const db = await step.services.connections.get<PostgresClient>('db');
      await step.plugin.write(
        [
          { id: 1, v: 'first' },
          { id: 2, v: 'two' },
          { id: '1.0', v: 'last' },
        ],
        step.context(),
      );
      expect(await db.query(`SELECT id::text AS id, v FROM ${t} ORDER BY id`)).toEqual([
        { id: '1.0', v: 'last' },
        { id: '2', v: 'two' },
      ]);
      // Keys all different: written without the dedupe, as the same statement would.
      await step.plugin.write(
        [
          { id: 2, v: 'deux' },
          { id: 3, v: 'trois' },
        ],
        step.context(),
      );
      expect(await db.query(`SELECT id::text AS id, v FROM ${t} ORDER BY id`)).toEqual([
        { id: '1.0', v: 'last' },
        { id: '2', v: 'deux' },
        { id: '3', v: 'trois' },
      ]);
      await step.close();
    });

    it('onConflict: ignore keeps the first delivery of a key, in a batch and across batches', async () => {
      const t = table('first');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: t,
          mode: 'upsert',
          key: ['id'],
          onConflict: 'ignore',
          createTable: true,
          columns: { id: 'text', v: 'integer' },
        },
        options(),
      );
      const db = await step.services.connections.get<PostgresClient>('db');
      await step.plugin.write(
        [
          { id: 'a', v: 1 },
          { id: 'b', v: 2 },
          { id: 'a', v: 3 },
        ],
        step.context(),
      );
      await step.plugin.write(
        [
          { id: 'b', v: 20 },
          { id: 'c', v: 30 },
        ],
        step.context(),
      );
      expect(await db.query(`SELECT id, v FROM ${t} ORDER BY id`)).toEqual([
        { id: 'a', v: 1 },
        { id: 'b', v: 2 },
        { id: 'c', v: 30 },
      ]);
      await step.close();
    });

    it("runs afterWrite in the write's transaction over the rows it inserted or changed: an aggregate kept next to the rows counts each row once, whatever is delivered again", async () => {
      const t = table('events');
      const totals = table('totals');
      const opts = options();
      const config = {
        table: t,
        mode: 'upsert',
        key: ['id'],
        onConflict: 'ignore',
        createTable: true,
        columns: { id: 'text', day: 'date', amount: 'numeric(12,2)' },
        afterWrite: [
          `SELECT pg_advisory_xact_lock(hashtext('${totals}'))`,
          `INSERT INTO ${totals} AS s SELECT day, count(*), sum(amount) FROM written GROUP BY day ORDER BY day ON CONFLICT (day) DO UPDATE SET n = s.n + EXCLUDED.n, amount = s.amount + EXCLUDED.amount`,
        ],
      };
      const step = await createTestStep<PostgresSink>(sink, 'sink', config, opts);
      const db = await step.services.connections.get<PostgresClient>('db');
      await db.exec(`CREATE TABLE ${totals} (day date PRIMARY KEY, n bigint, amount numeric(14,2))`);
      const event = (i: number) => ({ id: `e${i}`, day: `2024-01-0${1 + (i % 3)}`, amount: (i % 7) + 0.01 });
      const all = Array.from({ length: 600 }, (_, i) => event(i));
      // At-least-once: batches overlap and come again, from two writers at once (on a real server two pools, as two
      // processes; PGlite is one process's database).
      const embedded = (connection().url ?? 'embedded') === 'embedded';
      const other = await createTestStep<PostgresSink>(
        sink,
        'sink',
        config,
        embedded ? { ...opts, services: { connections: step.services.connections } } : options(),
      );
      await Promise.all([
        (async () => {
          for (let i = 0; i < 600; i += 100) await step.plugin.write(all.slice(i, i + 150), step.context());
        })(),
        (async () => {
          for (let i = 500; i >= 0; i -= 100) await other.plugin.write(all.slice(i, i + 120), other.context());
        })(),
      ]);
      await step.plugin.write(all.slice(0, 50), step.context()); // nothing new: afterWrite does not run
      const want = new Map<string, { n: number; cents: number }>();
      for (const e of all) {
        const w = want.get(e.day) ?? { n: 0, cents: 0 };
        want.set(e.day, { n: w.n + 1, cents: w.cents + Math.round(e.amount * 100) });
      }
      expect(await db.query(`SELECT day, n, amount FROM ${totals} ORDER BY day`)).toEqual(
        [...want].sort().map(([day, w]) => ({ day, n: w.n, amount: w.cents / 100 })),
      );
      expect(await db.query(`SELECT count(*)::int AS n FROM ${t}`)).toEqual([{ n: 600 }]);
      // A failing statement names itself and rolls the rows back with it.
      const broken = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { ...config, afterWrite: ['SELECT 1 / 0'] },
        { ...opts, services: { connections: step.services.connections } },
      );
      await expect(broken.plugin.write([event(1000)], broken.context())).rejects.toThrow(
        /afterWrite\[0\]: division by zero/,
      );
      expect(await db.query(`SELECT count(*)::int AS n FROM ${t} WHERE id = 'e1000'`)).toEqual([{ n: 0 }]);
      // Append mode too: every appended row is in `written`.
      const log = table('log');
      const appender = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: log,
          createTable: true,
          columns: { id: 'text', day: 'date', amount: 'numeric(12,2)' },
          afterWrite: [
            `INSERT INTO ${totals} AS s SELECT day, count(*), 0 FROM written GROUP BY day ON CONFLICT (day) DO UPDATE SET n = s.n + EXCLUDED.n`,
          ],
        },
        { ...opts, services: { connections: step.services.connections } },
      );
      await appender.plugin.write([event(1), event(4)], appender.context());
      expect(await db.query(`SELECT n FROM ${totals} WHERE day = '2024-01-02'`)).toEqual([
        { n: want.get('2024-01-02')!.n + 2 },
      ]);
      await other.close();
      await step.close();
    });

    it('rejects records whose values do not fit the columns, naming the column, and writes the rest', async () => {
      const t = table('typed');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, createTable: true, columns: { id: 'integer', amount: 'numeric(12,2)', at: 'timestamptz' } },
        options(),
      );
      await step.plugin.write(
        [
          { id: 1, amount: 5, at: '2024-01-01T00:00:00Z' },
          { id: 'x', amount: 'lots', at: 'yesterday' },
        ],
        step.context(),
      );
      expect(step.rejects).toEqual([
        {
          record: { id: 'x', amount: 'lots', at: 'yesterday' },
          reasons: [
            'id: "x" is not an integer',
            'amount: "lots" is not a number',
            'at: "yesterday" is not a date/time',
          ],
        },
      ]);
      const db = await step.services.connections.get<PostgresClient>('db');
      expect(await db.query(`SELECT id, amount FROM ${t}`)).toEqual([{ id: 1, amount: 5 }]);
      await step.close();
    });

    it('maps natural keys to surrogate keys through a dimension (star schema)', async () => {
      const dim = table('dim_city');
      const fact = table('fact');
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: fact,
          mode: 'upsert',
          key: ['id'],
          createTable: true,
          columns: { id: 'text', city_key: 'integer', amount: 'numeric' },
          lookups: [
            {
              column: 'city_key',
              table: dim,
              naturalKey: { city_name: 'city' },
              surrogateKey: 'city_key',
              create: true,
            },
          ],
        },
        options(),
      );
      const db = await step.services.connections.get<PostgresClient>('db');
      await db.exec(`CREATE TABLE ${dim} (city_key serial PRIMARY KEY, city_name text UNIQUE)`);
      await step.plugin.write(
        [
          { id: '1', city: 'Pune', amount: 5 },
          { id: '2', city: 'Delhi', amount: 6 },
          { id: '3', city: 'Pune', amount: 7 },
        ],
        step.context(),
      );
      await step.plugin.write([{ id: '4', city: 'Delhi', amount: 1 }], step.context());
      const joined = await db.query(
        `SELECT f.id, d.city_name FROM ${fact} f JOIN ${dim} d USING (city_key) ORDER BY f.id`,
      );
      expect(joined).toEqual([
        { id: '1', city_name: 'Pune' },
        { id: '2', city_name: 'Delhi' },
        { id: '3', city_name: 'Pune' },
        { id: '4', city_name: 'Delhi' },
      ]);
      expect(await db.query(`SELECT count(*)::int AS n FROM ${dim}`)).toEqual([{ n: 2 }]);
      await step.close();
    });

    it('upserts a dimension with an identity surrogate key by its natural key; onMissing: reject sends facts without a dimension row to dead-letter', async () => {
      const dim = table('dim_channel');
      const fact = table('fact');
      const opts = options();
      const dimStep = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: dim, mode: 'upsert', key: ['channel_name'] },
        opts,
      );
      const db = await dimStep.services.connections.get<PostgresClient>('db');
      await db.exec(
        `CREATE TABLE ${dim} (channel_key integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, channel_name text NOT NULL UNIQUE, fee_percent numeric(5,2) NOT NULL)`,
      );
      await dimStep.plugin.write(
        [
          { channel_name: 'UPI', fee_percent: 0.5, amount: 1 },
          { channel_name: 'Card', fee_percent: 2 },
          { channel_name: 'UPI', fee_percent: 0.5 },
        ],
        dimStep.context(),
      );
      const keys = Object.fromEntries(
        (
          await db.query<{ channel_key: number; channel_name: string }>(`SELECT channel_key, channel_name FROM ${dim}`)
        ).map((r) => [r.channel_name, r.channel_key]),
      );
      expect(new Set(Object.values(keys)).size).toBe(2);
      await dimStep.plugin.write([{ channel_name: 'Card', fee_percent: 2.5 }], dimStep.context());
      expect(await db.query(`SELECT channel_key, channel_name, fee_percent FROM ${dim} ORDER BY channel_name`)).toEqual(
        [
          { channel_key: keys.Card, channel_name: 'Card', fee_percent: 2.5 },
          { channel_key: keys.UPI, channel_name: 'UPI', fee_percent: 0.5 },
        ],
      );
      const factStep = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: fact,
          mode: 'upsert',
          key: ['id'],
          createTable: true,
          columns: { id: 'text', channel_key: 'integer NOT NULL' },
          lookups: [
            {
              column: 'channel_key',
              table: dim,
              naturalKey: { channel_name: 'channel' },
              surrogateKey: 'channel_key',
              onMissing: 'reject',
            },
          ],
        },
        { ...opts, services: { connections: dimStep.services.connections } },
      );
      await factStep.plugin.write(
        [
          { id: 't1', channel: 'UPI' },
          { id: 't2', channel: 'Cash' },
          { id: 't3', channel: 'Card' },
        ],
        factStep.context(),
      );
      expect(await db.query(`SELECT id, channel_key FROM ${fact} ORDER BY id`)).toEqual([
        { id: 't1', channel_key: keys.UPI },
        { id: 't3', channel_key: keys.Card },
      ]);
      expect(factStep.rejects).toEqual([
        {
          record: { id: 't2', channel: 'Cash', channel_key: null },
          reasons: [`channel_key: no ${dim} row with channel_name = "Cash"`],
        },
      ]);
      // A date natural key matches its 'YYYY-MM-DD' value.
      const dates = table('dim_date');
      await db.exec(
        `CREATE TABLE ${dates} (date_key integer PRIMARY KEY, full_date date UNIQUE); INSERT INTO ${dates} VALUES (20240301, '2024-03-01')`,
      );
      const dated = await createTestStep<PostgresSink>(
        sink,
        'sink',
        {
          table: table('fact_d'),
          mode: 'upsert',
          key: ['id'],
          createTable: true,
          columns: { id: 'text', date_key: 'integer' },
          lookups: [
            {
              column: 'date_key',
              table: dates,
              naturalKey: { full_date: 'day' },
              surrogateKey: 'date_key',
              onMissing: 'reject',
            },
          ],
        },
        { ...opts, services: { connections: dimStep.services.connections } },
      );
      const record = { id: 'd1', day: '2024-03-01' };
      await dated.plugin.write([record], dated.context());
      expect(dated.rejects).toEqual([]);
      expect(record).toEqual({ id: 'd1', day: '2024-03-01', date_key: 20240301 });
      await dimStep.close();
    });

    it('reads incrementally by (cursor, tie-breaker) in pages: ties are neither skipped nor repeated, late rows are caught by lookback', async () => {
      const t = table('tx');
      const opts = options();
      const writer = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, createTable: true, columns: { id: 'text', at: 'timestamptz' } },
        opts,
      );
      const at = (m: number) => new Date(Date.UTC(2024, 0, 1, 10, m));
      // Five rows share 10:01: a page boundary falls among them.
      await writer.plugin.write(
        [{ id: 'a', at: at(0) }, ...['b', 'c', 'd', 'e', 'f'].map((id) => ({ id, at: at(1) })), { id: 'g', at: at(2) }],
        writer.context(),
      );
      const shared = { ...opts, services: { connections: writer.services.connections } };
      const reader = await createTestStep<PostgresSource>(
        source,
        'source',
        { table: t, cursor: { column: 'at', tieBreaker: 'id' }, pageSize: 3 },
        shared,
      );
      const first = await readAll(reader.plugin);
      expect(first.records.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      expect(first.checkpoint).toEqual({ cursor: at(2).toISOString(), tie: 'g' });
      await writer.plugin.write(
        [
          { id: 'h', at: at(3) },
          { id: 'late', at: at(1) },
        ],
        writer.context(),
      );
      const second = await readAll(reader.plugin, { checkpoint: first.checkpoint });
      expect(second.records.map((r) => r.id)).toEqual(['h']); // without lookback the late row is missed…
      const withLookback = await createTestStep<PostgresSource>(
        source,
        'source',
        { table: t, cursor: { column: 'at', tieBreaker: 'id' }, lookback: '5m', pageSize: 3 },
        shared,
      );
      const third = await readAll(withLookback.plugin, { checkpoint: first.checkpoint });
      expect(third.records.map((r) => r.id)).toContain('late'); // …with lookback it is read
      expect(third.checkpoint).toEqual({ cursor: at(3).toISOString(), tie: 'h' });
      await writer.close();
    });

    it('reads one day with --date (backfill) without moving the checkpoint', async () => {
      const t = table('days');
      const opts = options();
      const writer = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { table: t, createTable: true, columns: { id: 'integer', at: 'timestamptz' } },
        opts,
      );
      await writer.plugin.write(
        [1, 2, 3].map((d) => ({ id: d, at: new Date(Date.UTC(2024, 0, d, 12)) })),
        writer.context(),
      );
      const reader = await createTestStep<PostgresSource>(
        source,
        'source',
        { table: t, cursor: { column: 'at' }, dateColumn: 'at' },
        { ...opts, services: { connections: writer.services.connections } },
      );
      const day = await readAll(reader.plugin, { date: '2024-01-02' });
      expect(day.records.map((r) => r.id)).toEqual([2]);
      expect(day.checkpoint).toBeUndefined();
      await writer.close();
    });

    it('names the table when it is missing', async () => {
      const reader = await createTestStep<PostgresSource>(
        source,
        'source',
        { table: 'no_such_table', mode: 'snapshot' },
        { ...options(), id: 'orders' },
      );
      await expect(readAll(reader.plugin)).rejects.toThrow(
        /^orders \(no_such_table\): relation "no_such_table" does not exist/,
      );
      await reader.close();
    });
  });
}

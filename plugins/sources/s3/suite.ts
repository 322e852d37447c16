import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import type { ObjectStore } from '../../../connections/s3/index.ts';
import source, { type S3Source } from './index.ts';
import sink, { type S3Sink } from '../../sinks/s3/index.ts';

/** The same tests run on the embedded store here and on MinIO in s3.real.test.ts. */
export function s3Suite(
  name: string,
  connection: () => Record<string, unknown> & { type: string },
  bucket: () => string,
) {
  describe(`s3 source and sink (${name})`, () => {
    const options = () => ({
      connections: { lake: connection() },
      connection: 'lake',
      stateDir: mkdtempSync(join(tmpdir(), 's3-')),
    });

    it('round-trips records through date-partitioned objects, content compared', async () => {
      const b = bucket();
      const opts = options();
      const writer = await createTestStep<S3Sink>(
        sink,
        'sink',
        { bucket: b, key: 'sales/{YYYY}/{MM}/{DD}/part-{uuid}.csv', partitionBy: 'day' },
        opts,
      );
      const rows = Array.from({ length: 500 }, (_, i) => ({
        id: i,
        day: `2024-01-0${1 + (i % 3)}`,
        note: i % 7 ? 'plain' : 'with, comma "and quotes"',
      }));
      await writer.plugin.write(rows);
      const store = await writer.services.connections.get<ObjectStore>('lake');
      const keys = (await store.list(b, 'sales/')).objects.map((o) => o.key);
      expect(keys.map((k) => k.split('/').slice(0, 4).join('/'))).toEqual([
        'sales/2024/01/01',
        'sales/2024/01/02',
        'sales/2024/01/03',
      ]);
      const reader = await createTestStep<S3Source>(
        source,
        'source',
        { bucket: b, prefix: 'sales/' },
        { ...opts, services: { connections: writer.services.connections } },
      );
      const { records, checkpoint } = await readAll(reader.plugin);
      expect(records.sort((x, y) => (x.id as number) - (y.id as number))).toEqual(rows); // DATE columns come back as 'YYYY-MM-DD'
      // Nothing new: nothing read. A changed object (new ETag) is read again.
      expect((await readAll(reader.plugin, { checkpoint })).records).toEqual([]);
      await store.put(b, keys[0], 'id,day,note\n9999,2024-01-01,changed\n');
      expect((await readAll(reader.plugin, { checkpoint })).records).toMatchObject([{ id: 9999, note: 'changed' }]);
      await writer.close();
      await reader.close();
    });

    it('puts a batch with an identity under the same keys each time: put again after a crash, it replaces its first objects', async () => {
      const b = bucket();
      const opts = options();
      const writer = await createTestStep<S3Sink>(
        sink,
        'sink',
        { bucket: b, key: 'sales/{YYYY}/{MM}/{DD}/part-{uuid}.csv', partitionBy: 'day' },
        opts,
      );
      const ctx = (n: number) => ({
        reject: () => undefined,
        batch: { id: `${n}`.repeat(32), writer: 'w'.repeat(32), origin: `files a.csv#${n}` },
      });
      const rows = (from: number) =>
        Array.from({ length: 4 }, (_, i) => ({ id: from + i, day: `2024-01-0${1 + (i % 2)}` }));
      await writer.plugin.write(rows(0), ctx(1));
      await writer.plugin.write(rows(0), ctx(1));
      await writer.plugin.write(rows(4), ctx(2));
      const store = await writer.services.connections.get<ObjectStore>('lake');
      expect((await store.list(b, 'sales/')).objects.map((o) => o.key)).toEqual([
        'sales/2024/01/01/part-11111111-1111-8111-9111-111111111111.csv',
        'sales/2024/01/01/part-22222222-2222-8222-a222-222222222222.csv',
        'sales/2024/01/02/part-11111111-1111-8111-9111-111111111111.csv',
        'sales/2024/01/02/part-22222222-2222-8222-a222-222222222222.csv',
      ]);
      const reader = await createTestStep<S3Source>(
        source,
        'source',
        { bucket: b, prefix: 'sales/' },
        { ...opts, services: { connections: writer.services.connections } },
      );
      expect((await readAll(reader.plugin)).records.map((r) => r.id).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await writer.close();
      await reader.close();
    });

    it('lists in pages and sends an unparseable line to dead-letter with s3://bucket/key:line', async () => {
      const b = bucket();
      const opts = options();
      const step = await createTestStep<S3Source>(source, 'source', { bucket: b, pageSize: 2 }, opts);
      const store = await step.services.connections.get<ObjectStore>('lake');
      await store.ensureBucket(b);
      for (let i = 0; i < 5; i++) await store.put(b, `in/${i}.jsonl`, `{"n":${i}}\n`);
      await store.put(b, 'in/bad.jsonl', '{"n":5}\nnot json\n');
      const { records, rejects } = await readAll(step.plugin);
      expect(records.map((r) => r.n).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(rejects).toMatchObject([{ record: 'not json', origin: `s3://${b}/in/bad.jsonl:2` }]);
      await step.close();
    });

    it("mode replace puts a day's object again under the same key; records say their key and line", async () => {
      const b = bucket();
      const opts = options();
      const writer = await createTestStep<S3Sink>(
        sink,
        'sink',
        { bucket: b, key: 'daily/{YYYY}/{MM}/{DD}/sales.csv', mode: 'replace', partitionBy: 'day' },
        opts,
      );
      await writer.plugin.write([
        { id: 1, day: '2024-01-01' },
        { id: 2, day: '2024-01-01' },
      ]);
      await writer.plugin.write([
        { id: 1, day: '2024-01-01' },
        { id: 3, day: '2024-01-01' },
        { id: 4, day: '2024-01-01' },
      ]);
      const store = await writer.services.connections.get<ObjectStore>('lake');
      expect((await store.list(b, 'daily/')).objects.map((o) => o.key)).toEqual(['daily/2024/01/01/sales.csv']);
      const reader = await createTestStep<S3Source>(
        source,
        'source',
        { bucket: b, keyColumn: 'source_key', lineColumn: 'source_line' },
        { ...opts, services: { connections: writer.services.connections } },
      );
      expect((await readAll(reader.plugin)).records).toEqual(
        [1, 3, 4].map((id, i) => ({
          id,
          day: '2024-01-01',
          source_key: 'daily/2024/01/01/sales.csv',
          source_line: i + 2,
        })),
      );
      await expect(
        createTestStep(sink, 'sink', { bucket: b, key: 'daily/{YYYY}/sales.csv' }, { ...opts, id: 'put' }),
      ).rejects.toThrow('put: key "daily/{YYYY}/sales.csv" needs {uuid} in mode new');
      await writer.close();
      await reader.close();
    });

    it('sends an object it cannot read at all to dead-letter whole and reads the next; CSV lines skip the lines DuckDB rejected', async () => {
      const b = bucket();
      const opts = options();
      const step = await createTestStep<S3Source>(
        source,
        'source',
        { bucket: b, keyColumn: 'source_key', lineColumn: 'source_line' },
        opts,
      );
      const store = await step.services.connections.get<ObjectStore>('lake');
      await store.ensureBucket(b);
      await store.put(b, 'a-report.pdf', '%PDF-1.4 not a table');
      await store.put(b, 'b-broken.parquet', 'not parquet at all');
      await store.put(b, 'c-sales.csv', 'id,qty\n1,2\n2,3,extra,cells\n3,4\n');
      const { records, rejects, checkpoint } = await readAll(step.plugin);
      expect(records).toEqual([
        { id: 1, qty: 2, source_key: 'c-sales.csv', source_line: 2 },
        { id: 3, qty: 4, source_key: 'c-sales.csv', source_line: 4 },
      ]);
      expect(rejects.map((r) => r.origin)).toEqual([
        `s3://${b}/a-report.pdf`,
        `s3://${b}/b-broken.parquet`,
        `s3://${b}/c-sales.csv:3`,
      ]);
      expect(rejects[0].reasons[0]).toContain('unknown file format');
      // Those objects count as read: the next run does not stop on them again.
      expect((await readAll(step.plugin, { checkpoint })).rejects).toEqual([]);
      await step.close();
    });

    it("mode create puts a day's object only when there is none: an object someone else put is never replaced", async () => {
      const b = bucket();
      const opts = options();
      const writer = await createTestStep<S3Sink>(
        sink,
        'sink',
        { bucket: b, key: 'CSV/sales_data_{YYYY}{MM}{DD}.csv', mode: 'create', partitionBy: 'day' },
        opts,
      );
      const store = await writer.services.connections.get<ObjectStore>('lake');
      await store.ensureBucket(b);
      await store.put(b, 'CSV/sales_data_20240101.csv', 'id,day\n99,2024-01-01\n'); // a person's file
      await writer.plugin.write([
        { id: 1, day: '2024-01-01' },
        { id: 2, day: '2024-01-02' },
      ]);
      await writer.plugin.write([{ id: 3, day: '2024-01-02' }]);
      expect((await store.get(b, 'CSV/sales_data_20240101.csv')).toString()).toBe('id,day\n99,2024-01-01\n');
      expect((await store.get(b, 'CSV/sales_data_20240102.csv')).toString()).toBe('id,day\n2,2024-01-02\n');
      await expect(
        createTestStep(sink, 'sink', { bucket: b, key: 'x/{uuid}.csv', mode: 'create' }, { ...opts, id: 'put' }),
      ).rejects.toThrow(
        'put: key "x/{uuid}.csv" has {uuid}, which names a new object every time: drop it in mode create',
      );
      await writer.close();
    });

    it('names the bucket when it does not exist', async () => {
      const step = await createTestStep<S3Source>(
        source,
        'source',
        { bucket: 'no-such-bucket-here' },
        { ...options(), id: 'drops' },
      );
      await expect(readAll(step.plugin)).rejects.toThrow(
        /^drops: listing s3:\/\/no-such-bucket-here\/: .*NoSuchBucket/,
      );
      await step.close();
    });
  });
}

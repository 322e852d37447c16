import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import type { DocumentStore } from '../../../connections/mongodb/index.ts';
import sink, { type MongoSink } from './index.ts';
import source, { type MongoSource } from '../../sources/mongodb/index.ts';

/** The same tests run on the embedded store here and on FerretDB in mongodb.real.test.ts. */
export function mongoSuite(
  name: string,
  connection: () => Record<string, unknown> & { type: string },
  collection: () => string,
  size = 2000,
) {
  describe(`mongodb sink and source (${name})`, () => {
    const options = () => ({
      connections: { docs: connection() },
      connection: 'docs',
      stateDir: mkdtempSync(join(tmpdir(), 'mongo-')),
    });

    it(`round-trips ${size} documents and upserts idempotently by key`, async () => {
      const c = collection();
      const opts = options();
      const writer = await createTestStep<MongoSink>(sink, 'sink', { collection: c, key: ['id'] }, opts);
      const docs = Array.from({ length: size }, (_, i) => ({
        id: i,
        tier: i % 3 ? 'silver' : 'gold',
        revenue: i * 1.5,
        at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
      }));
      await writer.plugin.write(docs);
      await writer.plugin.write(docs.slice(0, 10).map((d) => ({ ...d, tier: 'platinum' })));
      await writer.plugin.write(docs.slice(0, 10).map((d) => ({ ...d, tier: 'platinum' })));
      const reader = await createTestStep<MongoSource>(
        source,
        'source',
        { collection: c, cursor: 'id', pageSize: 500 },
        { ...opts, services: { connections: writer.services.connections } },
      );
      const { records, checkpoint } = await readAll(reader.plugin);
      expect(records).toHaveLength(size);
      expect(records.map(({ id, tier, revenue, at }) => ({ id, tier, revenue, at }))).toEqual(
        docs.map((d, i) => (i < 10 ? { ...d, tier: 'platinum' } : d)),
      );
      expect(checkpoint).toBe(size - 1);
      await writer.plugin.write([{ id: 5000, tier: 'new', revenue: 1, at: new Date(0) }]);
      expect((await readAll(reader.plugin, { checkpoint })).records.map((r) => r.id)).toEqual([5000]);
      await writer.close();
    }, 120_000);

    it('appends a batch with an identity once: delivered again after a crash (whole, or after an insert cut short) nothing doubles', async () => {
      const c = collection();
      const step = await createTestStep<MongoSink>(sink, 'sink', { collection: c, mode: 'append' }, options());
      const store = await step.services.connections.get<DocumentStore>('docs');
      const ctx = (n?: number) => ({
        reject: () => undefined,
        ...(n ? { batch: { id: `${n}`.repeat(32), writer: 'w'.repeat(32), origin: `files #${n}` } } : {}),
      });
      const docs = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({ n: from + i, at: new Date(Date.UTC(2024, 0, 1, 0, from + i)) }));
      await step.plugin.write(docs(0, 3), ctx(1));
      await step.plugin.write(docs(0, 3), ctx(1));
      // Batch 2's insert was cut short after its first two documents; then it comes again, whole.
      await store.insertOnce(c, docs(3, 2), ctx(2).batch!.id);
      await step.plugin.write(docs(3, 4), ctx(2));
      await step.plugin.write(docs(7, 1), ctx());
      await step.plugin.write(docs(7, 1), ctx()); // without identity: appended each time, as before
      expect((await store.find(c, {}, { sort: { n: 1 } })).map((d) => d.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 7]);
      expect((await store.find(c, { n: 4 }))[0]).toEqual(docs(4, 1)[0]);
      await step.close();
    });

    it('replaces a whole collection at once', async () => {
      const c = collection();
      const step = await createTestStep<MongoSink>(sink, 'sink', { collection: c, mode: 'replace' }, options());
      await step.plugin.write([
        { product: 'a', profit: 1 },
        { product: 'b', profit: 2 },
      ]);
      await step.plugin.write([{ product: 'c', profit: 3 }]);
      const store = await step.services.connections.get<DocumentStore>('docs');
      expect(await store.find(c)).toEqual([{ product: 'c', profit: 3 }]);
      await step.close();
    });

    it('replaces the collection with a whole result of several pages, and empties it when the result is empty', async () => {
      const c = collection();
      const step = await createTestStep<MongoSink>(sink, 'sink', { collection: c, mode: 'replace' }, options());
      const store = await step.services.connections.get<DocumentStore>('docs');
      const reject = () => undefined;
      const docs = Array.from({ length: 5 }, (_, i) => ({ product: `p${i}`, profit: i }));
      await step.plugin.write([{ product: 'stale', profit: -1 }]);
      // Three pages of one result: the collection keeps its old content until the last page, then holds all five.
      await step.plugin.write(docs.slice(0, 2), { reject, snapshot: { first: true, last: false } });
      await step.plugin.write(docs.slice(2, 4), { reject, snapshot: { first: false, last: false } });
      expect(await store.find(c)).toEqual([{ product: 'stale', profit: -1 }]);
      await step.plugin.write(docs.slice(4), { reject, snapshot: { first: false, last: true } });
      expect(await store.find(c, {}, { sort: { profit: 1 } })).toEqual(docs);
      // The next run's result is empty: the collection becomes empty, not the previous (stale) five.
      await step.plugin.write([], { reject, snapshot: { first: true, last: true } });
      expect(await store.find(c)).toEqual([]);
      // A run that failed half-way leaves its pages behind; the next run starts over without them.
      await step.plugin.write(docs.slice(0, 2), { reject, snapshot: { first: true, last: false } });
      await step.plugin.write(docs.slice(4), { reject, snapshot: { first: true, last: true } });
      expect(await store.find(c)).toEqual(docs.slice(4));
      await step.close();
    });
  });
}

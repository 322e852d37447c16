// The s3 source's two error classes: an object (or a line of it) it cannot parse, an object gone between listing and
// reading, and a record a later step refuses go to dead-letter with s3://bucket/key[:line] while the other objects
// are read; an endpoint that does not answer is infrastructure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, freePort, readAll } from '../../../core/testing.ts';
import type { ObjectInfo, ObjectStore } from '../../../connections/s3/index.ts';
import { runManifest } from '../../../tests/manifest.ts';
import source, { type S3Source } from './index.ts';

describe('s3 source errors', () => {
  it('data: a bad line, a file that is not what its key says and a refused record carry their object and line; the rest lands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3-errors-'));
    const yaml = `name: s3-errors
connections:
  lake: { type: s3, endpoint: embedded }
sources:
  drops: { use: s3, connection: lake, with: { bucket: sales, createBucket: true } }
transforms:
  checked: { use: validate, from: drops, with: { schema: { properties: { amount: { type: number, minimum: 0 } } } } }
sinks:
  out: { use: csv, from: checked, with: { path: "${join(dir, 'out.csv')}", mode: append } }
`;
    const setup = await runManifest(yaml, dir);
    const store = await setup.pipeline.connections.get<ObjectStore>('lake', 's3');
    await store.put('sales', 'a.csv', 'id,amount\n1,10\n2,"broken\n3,-3\n');
    await store.put('sales', 'b.parquet', 'not parquet at all');
    await store.put('sales', 'c.jsonl', '{"id":4,"amount":4}\n');
    await setup.pipeline.stop();
    const run = await runManifest(yaml, dir);
    expect(run.ok).toBe(true);
    expect(run.dead.map((e) => [e.step, e.origin, e.reasons[0]])).toEqual([
      ['drops', 's3://sales/a.csv:3', expect.stringMatching(/^Value with unterminated quote found/)],
      ['checked', 's3://sales/a.csv:4', 'amount: must be >= 0'],
      ['drops', 's3://sales/b.parquet', expect.stringContaining('No magic bytes found')],
    ]);
    expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(2);
    await run.pipeline.stop();
  });

  it('data: an object gone between listing and reading is one dead letter, and the next object is read', async () => {
    const step = await createTestStep<S3Source>(
      source,
      'source',
      { bucket: 'b' },
      { connections: { lake: { type: 's3' } }, connection: 'lake' },
    );
    const store = await step.services.connections.get<ObjectStore>('lake');
    await store.ensureBucket('b');
    await store.put('b', 'a.jsonl', '{"n":1}\n');
    await store.put('b', 'b.jsonl', '{"n":2}\n');
    // The listing still shows a.jsonl when its download finds it gone.
    const list = store.list.bind(store);
    store.list = async (...args: Parameters<ObjectStore['list']>) => {
      const page = await list(...args);
      const { rmSync } = await import('node:fs');
      rmSync(join((store as unknown as { dir: string }).dir, 'b', 'a.jsonl'));
      return { ...page, objects: page.objects as ObjectInfo[] };
    };
    const { records, rejects } = await readAll(step.plugin);
    expect(records).toEqual([{ n: 2 }]);
    expect(rejects).toEqual([
      {
        record: { bucket: 'b', key: 'a.jsonl' },
        reasons: [expect.stringMatching(/^cannot read the object: NoSuchKey/)],
        origin: 's3://b/a.jsonl',
      },
    ]);
    await step.close();
  });

  it('infrastructure: an endpoint that does not answer', async () => {
    const step = await createTestStep<S3Source>(
      source,
      'source',
      { bucket: 'b' },
      {
        connections: {
          lake: {
            type: 's3',
            endpoint: `http://127.0.0.1:${await freePort()}`,
            accessKeyId: 'a',
            secretAccessKey: 'b',
          },
        },
        connection: 'lake',
      },
    );
    await expectErrorClass(readAll(step.plugin), 'infrastructure');
    await step.close();
  }, 30_000);
});

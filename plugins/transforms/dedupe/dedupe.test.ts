import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import plugin, { type Dedupe } from './index.ts';

describe('dedupe transform', () => {
  it('keeps the first or the last record of a key within a batch', async () => {
    const first = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'] });
    expect(
      first.plugin.process([
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
        { id: 1, v: 'c' },
      ]),
    ).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ]);
    expect(first.plugin.process([{ id: 1, v: 'd' }])).toEqual([{ id: 1, v: 'd' }]); // batch scope: earlier batches do not count
    expect(first.plugin.snapshot()).toBeNull();
    const last = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], keep: 'last' });
    expect(
      last.plugin.process([
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
        { id: 1, v: 'c' },
      ]),
    ).toEqual([
      { id: 2, v: 'b' },
      { id: 1, v: 'c' },
    ]);
  });

  it('keys on several fields, Dates by their instant, a missing field as null', async () => {
    const step = await createTestStep<Dedupe>(plugin, 'transform', { key: ['currency', 'at'] });
    const rows = [
      { currency: 'EUR', at: new Date('2024-01-01T00:00:00Z'), rate: 1 },
      { currency: 'EUR', at: new Date('2024-01-01T00:00:00.000Z'), rate: 2 },
      { currency: 'EUR', at: new Date('2024-01-01T00:00:01Z'), rate: 3 },
      { currency: 'USD', at: new Date('2024-01-01T00:00:00Z'), rate: 4 },
      { at: null, rate: 5 },
      { currency: null, rate: 6 },
    ];
    expect(step.plugin.process(rows).map((r) => r.rate)).toEqual([1, 3, 4, 5]);
  });

  it('with nulls: distinct, passes every record with a null or missing key field on (to be rejected by a validation)', async () => {
    const rows = [{ id: 'a', n: 1 }, { id: null, n: 2 }, { n: 3 }, { id: 'a', n: 4 }, { id: null, n: 5 }];
    for (const scope of ['batch', 'run']) {
      const step = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], nulls: 'distinct', scope });
      expect(
        step.plugin
          .process(rows)
          .map((r) => r.n)
          .sort(),
      ).toEqual([1, 2, 3, 5]);
    }
    const equal = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'] });
    expect(equal.plugin.process(rows).map((r) => r.n)).toEqual([1, 2]);
  });

  it('remembers keys across batches in run scope, bounded (least recently seen forgotten), and restores them from a snapshot', async () => {
    const step = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], scope: 'run', maxKeys: 2 });
    expect(step.plugin.process([{ id: 1 }, { id: 2 }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(step.plugin.process([{ id: 1 }, { id: 3 }])).toEqual([{ id: 3 }]); // 1 seen again: now the most recent; 2 forgotten
    expect(step.plugin.snapshot()).toEqual(['[1]', '[3]']);
    expect(step.plugin.process([{ id: 2 }])).toEqual([{ id: 2 }]);
    const restored = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], scope: 'run', maxKeys: 2 });
    restored.plugin.restore(JSON.parse(JSON.stringify(step.plugin.snapshot())));
    expect(restored.plugin.process([{ id: 3 }, { id: 2 }, { id: 4 }, { id: 4 }])).toEqual([{ id: 4 }]);
    const smaller = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], scope: 'run', maxKeys: 1 });
    smaller.plugin.restore(['[1]', '[2]']);
    expect(smaller.plugin.process([{ id: 1 }, { id: 2 }])).toEqual([{ id: 1 }]);
  });

  it('needs a key', async () => {
    await expect(createTestStep(plugin, 'transform', { key: [] })).rejects.toThrow(
      'dedupe.with.key: must NOT have fewer than 1 items',
    );
  });
});

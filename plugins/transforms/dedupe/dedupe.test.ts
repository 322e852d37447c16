import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import plugin, { type Dedupe } from './index.ts';

describe('dedupe transform', () => {
  it('keeps the first or last record of a key within a batch', async () => {
    const first = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'] });
    expect(first.plugin.process([{ id: 1, v: 'a' }, { id: 2, v: 'b' }, { id: 1, v: 'c' }])).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    const last = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], keep: 'last' });
    expect(last.plugin.process([{ id: 1, v: 'a' }, { id: 2, v: 'b' }, { id: 1, v: 'c' }])).toEqual([{ id: 2, v: 'b' }, { id: 1, v: 'c' }]);
  });

  it('remembers keys across batches in run scope, bounded, and restores them from a snapshot', async () => {
    const step = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], scope: 'run', maxKeys: 2 });
    expect(step.plugin.process([{ id: 1 }, { id: 2 }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(step.plugin.process([{ id: 2 }, { id: 3 }])).toEqual([{ id: 3 }]);
    expect(step.plugin.process([{ id: 1 }])).toEqual([{ id: 1 }]); // forgotten: only 2 keys are kept
    const restored = await createTestStep<Dedupe>(plugin, 'transform', { key: ['id'], scope: 'run', maxKeys: 2 });
    restored.plugin.restore(step.plugin.snapshot());
    expect(restored.plugin.process([{ id: 1 }, { id: 3 }, { id: 4 }])).toEqual([{ id: 4 }]);
  });
});

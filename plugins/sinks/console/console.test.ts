import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import plugin, { type ConsoleSink } from './index.ts';

describe('console sink', () => {
  afterEach(() => vi.restoreAllMocks());

  function capture() {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    return lines;
  }

  it('prints each record as a JSON line with the prefix, timestamps as ISO text', async () => {
    const lines = capture();
    const step = await createTestStep<ConsoleSink>(plugin, 'sink', { prefix: 'out: ' });
    await step.plugin.write([
      { id: 1, at: new Date('2024-01-01T00:00:00Z'), big: 2n ** 64n },
      { id: 2, nested: { a: [1, null] } },
    ]);
    expect(lines).toEqual([
      'out: {"id":1,"at":"2024-01-01T00:00:00.000Z","big":"18446744073709551616"}',
      'out: {"id":2,"nested":{"a":[1,null]}}',
    ]);
  });

  it('prints at most limit records in all', async () => {
    const lines = capture();
    const step = await createTestStep<ConsoleSink>(plugin, 'sink', { limit: 3 });
    await step.plugin.write([{ n: 1 }, { n: 2 }]);
    await step.plugin.write([{ n: 3 }, { n: 4 }]);
    await step.plugin.write([{ n: 5 }]);
    expect(lines).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });
});

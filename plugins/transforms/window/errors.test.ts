// window's errors are all data (it opens nothing): a record without a usable time, one later than the allowed
// lateness, or one whose group cannot be compared is rejected alone; the others are aggregated.
import { describe, expect, it } from 'vitest';
import { createTestStep, processLikeRuntime } from '../../../core/testing.ts';
import plugin, { type WindowTransform } from './index.ts';

describe('window errors', () => {
  it('data: rejects a record without a time and one whose group is nested too deeply; aggregates the rest', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '1h',
      groupBy: ['country'],
      aggregates: { n: { count: true } },
    });
    const deep = { ts: '2024-01-01T10:10:00Z', country: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const noTime = { ts: 'soon', country: 'FR' };
    const { output, rejects } = await processLikeRuntime(step.plugin, [
      { ts: '2024-01-01T10:00:00Z', country: 'FR' },
      noTime,
      deep,
      { ts: '2024-01-01T10:30:00Z', country: 'FR' },
    ]);
    expect(output).toMatchObject([{ country: 'FR', n: 2 }]);
    expect(rejects).toEqual([
      { record: noTime, reasons: ['ts: not a time ("soon")'] },
      { record: deep, reasons: ['country: cannot be grouped (nested too deeply)'] },
    ]);
    await step.close();
  });
});

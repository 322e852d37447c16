// dedupe's errors are all data (it opens nothing): a record whose key cannot be compared (nested too deep) is
// rejected alone; a field it lacks is null, never what every JS object inherits.
import { describe, expect, it } from 'vitest';
import { createTestStep, processLikeRuntime } from '../../../core/testing.ts';
import type { Row } from '../../../core/sdk/index.ts';
import plugin, { type Dedupe } from './index.ts';

describe('dedupe errors', () => {
  it('data: rejects a record whose key is nested too deeply to compare; keys on own fields only', async () => {
    const step = await createTestStep<Dedupe>(plugin, 'transform', { key: ['toString'] });
    const deep = { toString: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const records: Row[] = [{ id: 1 }, { id: 2 }, deep, { id: 3, toString: 'x' }];
    const { output, rejects } = await processLikeRuntime(step.plugin, records);
    // Records without the field share the null key: the first is kept.
    expect(output).toEqual([records[0], records[3]]);
    expect(rejects).toEqual([{ record: deep, reasons: ['toString: the key cannot be compared (nested too deeply)'] }]);
    await step.close();
  });
});

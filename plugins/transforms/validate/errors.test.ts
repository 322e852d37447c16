// validate's errors are all data: a record the schema refuses, or one it cannot even walk (nested 10,000 deep),
// goes to dead-letter alone with its reasons; it opens nothing that could be an infrastructure failure.
import { describe, expect, it } from 'vitest';
import { createTestStep, processLikeRuntime } from '../../../core/testing.ts';
import type { Row } from '../../../core/sdk/index.ts';
import plugin, { type Validate } from './index.ts';

function deep(levels: number): unknown {
  return JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
}

describe('validate errors', () => {
  it('data: rejects the refused and the unwalkable records one by one, with reasons; the others pass', async () => {
    const step = await createTestStep<Validate>(plugin, 'transform', {
      schema: { required: ['id'], properties: { id: { type: 'integer' }, note: { type: 'object' } } },
      coerce: true,
    });
    const records: Row[] = [{ id: 1 }, { id: 'x' }, { id: 3, note: deep(10_000) }, { id: 4 }, { toString: 'no id' }];
    const { output, rejects } = await processLikeRuntime(step.plugin, records);
    expect(output).toEqual([{ id: 1 }, { id: 4 }]);
    expect(
      rejects.map((r) => [
        r.record === records[1] ? 1 : r.record === records[2] ? 2 : r.record === records[4] ? 4 : -1,
        r.reasons,
      ]),
    ).toEqual([
      [1, ['id: must be integer']],
      [2, ['cannot be validated: nested too deeply']],
      [4, ['missing required property "id"']],
    ]);
    await step.close();
  });
});

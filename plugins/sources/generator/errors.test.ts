// The generator's errors: it reads no outside data and opens no connection, so it has no infrastructure to fail;
// a record it makes that a later step refuses (its `corrupt` values) goes to dead-letter naming the record.
import { describe, expect, it } from 'vitest';
import { runManifest } from '../../../tests/manifest.ts';

describe('generator source errors', () => {
  it('data: a corrupted record a later step refuses names the generator, its index and seed; the others land', async () => {
    const run = await runManifest(`name: gen-errors
sources:
  gen: { use: generator, with: { seed: 7, count: 40, batchSize: 15, fields: { n: { sequence: {} }, amount: { const: 5 } }, corrupt: { ratio: 0.1, fields: [amount], values: [-1] } } }
transforms:
  checked: { use: validate, from: gen, with: { schema: { properties: { amount: { type: number, minimum: 0 } } } } }
sinks:
  out: { use: console, from: checked }
`);
    expect(run.ok).toBe(true);
    expect(run.dead.length).toBeGreaterThan(0);
    for (const entry of run.dead) {
      const n = (entry.record as { n: number }).n;
      expect([entry.step, entry.origin, entry.reasons[0]]).toEqual([
        'checked',
        `gen record ${n - 1} (seed 7)`,
        'amount: must be >= 0',
      ]);
    }
    expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(40 - run.dead.length);
    await run.pipeline.stop();
  });
});

import { describe, expect, it } from 'vitest';
import { createTestStep } from '@platform/sdk/testing';
import plugin, { type Uppercase } from '../src/index.ts';

describe('uppercase (example plugin)', () => {
  it('upper-cases the configured fields and leaves the rest', async () => {
    const step = await createTestStep<Uppercase>(plugin, 'transform', { fields: ['country'] });
    expect(step.plugin.process([{ country: 'us', city: 'austin' }], step.context())).toEqual([
      { country: 'US', city: 'austin' },
    ]);
  });

  it('rejects non-string values when asked, with the field in the reason', async () => {
    const step = await createTestStep<Uppercase>(plugin, 'transform', { fields: ['country'], nonString: 'reject' });
    expect(step.plugin.process([{ country: 7 }, { country: 'fr' }], step.context())).toEqual([{ country: 'FR' }]);
    expect(step.rejects).toEqual([{ record: { country: 7 }, reasons: ['country: not a string'] }]);
  });

  it('validates its config through its spec', async () => {
    await expect(createTestStep(plugin, 'transform', { fields: [] })).rejects.toThrow(
      'fields: must NOT have fewer than 1 items',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import plugin, { type Validate } from './index.ts';

const schema = {
  type: 'object',
  required: ['id', 'amount', 'ts'],
  properties: {
    id: { type: 'string', pattern: '^TX-\\d{10,}-\\d{4}$' },
    amount: { type: 'number', exclusiveMinimum: 0, maximum: 1000000 },
    country: { type: 'string', format: 'iso3166-alpha2' },
    ts: { type: 'string', format: 'date-time' },
  },
};

describe('validate transform', () => {
  it('passes good records unchanged and rejects bad ones with every reason', async () => {
    const step = await createTestStep<Validate>(plugin, 'transform', { schema });
    const good = { id: 'TX-1234567890-2024', amount: 100, country: 'US', ts: new Date('2024-01-01T00:00:00Z') };
    const bad = { id: 'TX-1', amount: -100, country: 'United States', ts: 'yesterday' };
    expect(step.plugin.process([good, bad, { amount: 5 }], step.context())).toEqual([good]);
    expect(step.rejects).toEqual([
      { record: bad, reasons: ['id: must match pattern "^TX-\\d{10,}-\\d{4}$"', 'amount: must be > 0', 'country: must match format "iso3166-alpha2"', 'ts: must match format "date-time"'] },
      { record: { amount: 5 }, reasons: ['missing required property "id"', 'missing required property "ts"'] },
    ]);
  });

  it('does not coerce unless asked, and coerces when asked', async () => {
    const strict = await createTestStep<Validate>(plugin, 'transform', { schema: { type: 'object', properties: { n: { type: 'integer' } } } });
    expect(strict.plugin.process([{ n: '12' }], strict.context())).toEqual([]);
    expect(strict.rejects[0].reasons).toEqual(['n: must be integer']);
    const coercing = await createTestStep<Validate>(plugin, 'transform', { schema: { type: 'object', properties: { n: { type: 'integer' }, d: { type: 'string', default: 'x' } } }, coerce: true });
    expect(coercing.plugin.process([{ n: '12' }], coercing.context())).toEqual([{ n: 12, d: 'x' }]);
  });

  it('names the step when its schema is invalid', async () => {
    await expect(createTestStep(plugin, 'transform', { schema: { type: 'nope' } }, { id: 'checked' })).rejects.toThrow(/^checked: invalid schema/);
  });
});

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
    currency: { type: 'string', format: 'iso4217' },
    ts: { type: 'string', format: 'date-time' },
  },
};

describe('validate transform', () => {
  it('passes good records unchanged (Dates stay Dates) and rejects bad ones with every reason', async () => {
    const step = await createTestStep<Validate>(plugin, 'transform', { schema });
    const good = {
      id: 'TX-1234567890-2024',
      amount: 100,
      country: 'US',
      currency: 'EUR',
      ts: new Date('2024-01-01T00:00:00Z'),
    };
    const bad = { id: 'TX-1', amount: -100, country: 'United States', currency: 'XXX', ts: 'yesterday' };
    const out = step.plugin.process([good, bad, { amount: 5 }], step.context());
    expect(out).toEqual([good]);
    expect(out[0]).toBe(good);
    expect(step.rejects).toEqual([
      {
        record: bad,
        reasons: [
          'id: must match pattern "^TX-\\d{10,}-\\d{4}$"',
          'amount: must be > 0',
          'country: must match format "iso3166-alpha2"',
          'currency: must match format "iso4217"',
          'ts: must match format "date-time"',
        ],
      },
      { record: { amount: 5 }, reasons: ['missing required property "id"', 'missing required property "ts"'] },
    ]);
  });

  it("lists the reasons of a conditional rule and of nested values, without ajv's summaries", async () => {
    const step = await createTestStep<Validate>(plugin, 'transform', {
      schema: {
        type: 'object',
        properties: {
          event_type: { enum: ['login', 'purchase'] },
          amount: { type: ['number', 'null'] },
          meta: { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, n: { type: 'integer' } } },
        },
        allOf: [
          {
            if: { properties: { event_type: { const: 'purchase' } } },
            then: { required: ['amount'], properties: { amount: { type: 'number', exclusiveMinimum: 0 } } },
          },
        ],
      },
    });
    const ok = { event_type: 'purchase', amount: 5, meta: { at: new Date('2024-01-01T00:00:00Z'), n: 1 } };
    const out = step.plugin.process(
      [
        ok,
        { event_type: 'purchase', meta: { n: 1.5 } },
        { event_type: 'purchase', amount: 0 },
        { event_type: 'refund', amount: 'x' },
      ],
      step.context(),
    );
    expect(out).toEqual([ok]);
    expect(step.rejects.map((r) => r.reasons)).toEqual([
      ['missing required property "amount"', 'meta.n: must be integer'],
      ['amount: must be > 0'],
      ['event_type: must be one of "login", "purchase"', 'amount: must be number,null'],
    ]);
  });

  it('does not coerce unless asked, and coerces (with defaults) when asked, keeping Dates', async () => {
    const strict = await createTestStep<Validate>(plugin, 'transform', {
      schema: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    expect(strict.plugin.process([{ n: '12' }], strict.context())).toEqual([]);
    expect(strict.rejects).toEqual([{ record: { n: '12' }, reasons: ['n: must be integer'] }]);
    const coercing = await createTestStep<Validate>(plugin, 'transform', {
      schema: {
        type: 'object',
        properties: {
          n: { type: 'integer' },
          d: { type: 'string', default: 'x' },
          at: { type: 'string', format: 'date-time' },
        },
      },
      coerce: true,
    });
    const at = new Date('2024-01-01T00:00:00Z');
    expect(coercing.plugin.process([{ n: '12', at }, { n: 'twelve' }], coercing.context())).toEqual([
      { n: 12, d: 'x', at },
    ]);
    expect(coercing.rejects).toEqual([{ record: { n: 'twelve' }, reasons: ['n: must be integer'] }]);
  });

  it('hands on the very record when nothing changes it, and never changes the input', async () => {
    const at = new Date('2024-01-01T00:00:00Z');
    // The schema reads n and at (a Date, validated as its ISO string); other fields, Dates included, pass as they are.
    const schema = {
      type: 'object',
      required: ['n'],
      properties: { n: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
    };
    const coercing = await createTestStep<Validate>(plugin, 'transform', { schema, coerce: true });
    const valid = { n: 1, at, other: new Date(0), nested: { x: 1 } };
    const needsCoercion = { n: '2', at };
    const out = coercing.plugin.process([valid, needsCoercion, { n: 'x', at: 'not a date' }], coercing.context());
    expect(out).toEqual([valid, { n: 2, at }]);
    expect(out[0]).toBe(valid);
    expect(needsCoercion).toEqual({ n: '2', at });
    expect(coercing.rejects.map((r) => r.reasons)).toEqual([
      ['n: must be integer', 'at: must match format "date-time"'],
    ]);
    // A schema that may read any field (patternProperties) still sees every Date as an ISO string.
    const anyField = await createTestStep<Validate>(plugin, 'transform', {
      schema: { type: 'object', patternProperties: { '^t': { type: 'string', format: 'date-time' } } },
    });
    const record = { ts: at };
    expect(anyField.plugin.process([record, { ts: 'noon' }], anyField.context())).toEqual([record]);
    expect(anyField.rejects.map((r) => r.reasons)).toEqual([['ts: must match format "date-time"']]);
  });

  it('names the step when its schema is invalid', async () => {
    await expect(createTestStep(plugin, 'transform', { schema: { type: 'nope' } }, { id: 'checked' })).rejects.toThrow(
      /^checked: invalid schema/,
    );
    await expect(createTestStep(plugin, 'transform', {})).rejects.toThrow('missing required property "schema"');
  });
});

// Config types derived from schemas: required and defaulted properties are there, others optional, enums literal;
// the duration builders validate as parseDuration reads (weeks too), above 0 unless zero is allowed.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createAjv, describeAjvError } from './config.ts';
import { configSchema, duration, timeZone, type ConfigOf, type DeclaredOf } from './schema.ts';

const SCHEMA = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: {
    key: { type: 'array', items: { type: 'string' } },
    keep: { enum: ['first', 'last'], default: 'first' },
    limit: { type: 'integer' },
    every: duration({ default: '1m', description: 'How often.' }),
    lateness: duration({ default: '0s' }, { zero: true }),
    zone: timeZone(),
  },
});

describe('config schemas', () => {
  it('derives the config type: required and defaulted properties present, the others optional', () => {
    expectTypeOf<ConfigOf<typeof SCHEMA>>().toEqualTypeOf<{
      key: string[];
      keep: 'first' | 'last';
      limit?: number;
      every: string;
      lateness: string;
      zone?: string;
    }>();
  });

  it('derives the declared type too: as written, before defaults (defaulted properties optional)', () => {
    expectTypeOf<DeclaredOf<typeof SCHEMA>>().toEqualTypeOf<{
      key: string[];
      keep?: 'first' | 'last';
      limit?: number;
      every?: string;
      lateness?: string;
      zone?: string;
    }>();
  });

  it('validates durations as parseDuration reads them, zero only where allowed', () => {
    const validate = createAjv({ coerce: false, defaults: true }).compile(SCHEMA);
    const config: Record<string, unknown> = { key: ['id'] };
    expect(validate(config)).toBe(true);
    expect(config).toEqual({ key: ['id'], keep: 'first', every: '1m', lateness: '0s' });
    expect(validate({ key: [], every: '2w', lateness: '0s', zone: 'Asia/Kolkata' })).toBe(true);
    expect(validate({ key: [], every: '0s' })).toBe(false);
    expect(validate.errors!.map((e) => describeAjvError(e, { key: [], every: '0s' }).message)).toContain(
      '"0s" is not a duration above 0, e.g. 500ms, 15s, 5m, 1h, 1d',
    );
    expect(validate({ key: [], lateness: '-1s' })).toBe(false);
    expect(validate({ key: [], zone: 'Mars/Olympus' })).toBe(false);
    expect(duration({ description: 'd' })).toEqual({ type: 'string', format: 'duration', description: 'd' });
  });
});

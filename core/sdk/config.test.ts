import { describe, expect, it } from 'vitest';
import { compileSchema } from './config.ts';

describe('shared ajv formats', () => {
  const validate = compileSchema({
    type: 'object',
    properties: {
      country: { type: 'string', format: 'iso3166-alpha2' },
      currency: { type: 'string', format: 'iso4217' },
    },
  });
  it.each([
    [{ country: 'US', currency: 'USD' }, true],
    [{ country: 'GB', currency: 'JPY' }, true],
    [{ country: 'UK' }, false],
    [{ country: 'us' }, false],
    [{ country: 'XX' }, false],
    [{ currency: 'ABC' }, false],
    [{ currency: 'XXX' }, false],
    [{ currency: 'usd' }, false],
  ])('%j valid: %s', (value, ok) => {
    expect(validate(value)).toBe(ok);
  });
});

import { describe, expect, it } from 'vitest';
import { openApiParam, ParamError, parseParams, type ParamSpec } from './params.ts';
import { jsonForScript, normalizeRows, toCsv } from './serialize.ts';

const specs: Record<string, ParamSpec> = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  day: { type: 'date' },
  ratio: { type: 'number', minimum: 0 },
  flag: { type: 'boolean', default: false },
  kind: { type: 'string', enum: ['a', 'b'] },
};
const parse = (qs: string) => parseParams(specs, new URLSearchParams(qs));
const error = (qs: string) => {
  try {
    parse(qs);
  } catch (e) {
    return { param: (e as ParamError).param, message: (e as Error).message };
  }
  throw new Error('no error');
};

describe('parseParams', () => {
  it('applies defaults and converts types', () => {
    expect(parse('')).toEqual({ limit: 50, day: null, ratio: null, flag: false, kind: null });
    expect(parse('limit=7&day=2024-02-29&ratio=0.5&flag=true&kind=b')).toEqual({
      limit: 7,
      day: '2024-02-29',
      ratio: 0.5,
      flag: true,
      kind: 'b',
    });
  });

  it('answers with messages naming the parameter', () => {
    expect(error('limit=0')).toEqual({ param: 'limit', message: 'limit must be between 1 and 500 (got 0)' });
    expect(error('limit=501').message).toBe('limit must be between 1 and 500 (got 501)');
    expect(error('limit=ten').message).toBe('limit must be an integer (got "ten")');
    expect(error('limit=1.5').message).toBe('limit must be an integer (got "1.5")');
    expect(error('limit=99999999999999999999')).toEqual({
      param: 'limit',
      message: 'limit is out of range (got 99999999999999999999; at most 9007199254740991)',
    });
    expect(error('day=2024-02-30').message).toBe('day must be a date YYYY-MM-DD (got "2024-02-30")');
    expect(error('ratio=-1').message).toBe('ratio must be at least 0 (got -1)');
    expect(error('kind=c').message).toBe('kind must be one of a, b (got "c")');
    expect(error('flag=yes').param).toBe('flag');
    expect(error('limit=1&limit=2').message).toBe('limit must be given once (got 2 values)');
    expect(error('lmit=5')).toEqual({
      param: 'lmit',
      message: 'unknown parameter "lmit" (expected: limit, day, ratio, flag, kind)',
    });
  });

  it('describes parameters for OpenAPI', () => {
    expect(openApiParam('limit', specs.limit)).toEqual({
      name: 'limit',
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    });
    expect(openApiParam('c', { type: 'string', array: true, enum: ['DE'] })).toMatchObject({
      schema: { type: 'array', items: { type: 'string', enum: ['DE'] } },
      style: 'form',
      explode: true,
    });
  });
});

describe('serialization', () => {
  it('turns NaN/Infinity into null, Dates into ISO strings and bigints into numbers or strings', () => {
    const rows = normalizeRows([
      { a: NaN, b: Infinity, c: new Date('2024-01-02T03:04:05Z'), d: 12n, e: 2n ** 60n, f: { g: -Infinity } },
    ]);
    expect(rows).toEqual([
      { a: null, b: null, c: '2024-01-02T03:04:05.000Z', d: 12, e: '1152921504606846976', f: { g: null } },
    ]);
  });

  it('writes RFC 4180 CSV and defuses spreadsheet formulas', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: null, d: '=HYPERLINK("x")', e: -5 }])).toBe(
      'a,b,c,d,e\r\n"x,y","say ""hi""",,"\'=HYPERLINK(""x"")",-5\r\n',
    );
  });

  it('keeps </script> and line separators out of inline JSON', () => {
    const text = jsonForScript({ note: '</script><script>alert(1)</script>\u2028' });
    expect(text).not.toMatch(/<|>|\u2028/);
    expect(JSON.parse(text)).toEqual({ note: '</script><script>alert(1)</script>\u2028' });
  });
});

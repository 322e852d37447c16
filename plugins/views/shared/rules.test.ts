import { describe, expect, it } from 'vitest';
import { evaluateRules, type AlertRule } from './rules.ts';

const rules: AlertRule[] = [
  {
    when: { field: 'failure_rate', op: '>', value: 0.05 },
    state: 'CRIT',
    reason: 'failure rate {failure_rate} above 5%',
  },
  { when: { field: 'revenue', op: '<', value: 1000 }, state: 'WARN', reason: 'revenue {revenue} below 1,000' },
  { when: { field: 'p95_ms', op: '>=', value: 800 }, state: 'WARN' },
  { when: { field: 'region', op: 'isNull' }, state: 'WARN', reason: 'no region' },
];

describe('evaluateRules', () => {
  it('is OK with no reasons when nothing fires', () => {
    expect(evaluateRules(rules, [{ failure_rate: 0.01, revenue: 5000, p95_ms: 300, region: 'EU' }])).toEqual({
      status: 'OK',
      reasons: [],
    });
  });

  it('lists every rule that fired, in rule order, and the worst state wins', () => {
    const result = evaluateRules(rules, [{ failure_rate: 0.2, revenue: 10, p95_ms: 800, region: null }]);
    expect(result.status).toBe('CRIT');
    expect(result.reasons).toEqual([
      'failure rate 0.2 above 5%',
      'revenue 10 below 1,000',
      'p95_ms >= 800 (is 800)',
      'no region',
    ]);
  });

  it('a WARN after a CRIT does not lower the state; WARN alone is WARN', () => {
    expect(
      evaluateRules([...rules].reverse(), [{ failure_rate: 0.2, revenue: 10, p95_ms: 0, region: 'x' }]).status,
    ).toBe('CRIT');
    expect(evaluateRules(rules, [{ failure_rate: 0, revenue: 10, p95_ms: 0, region: 'x' }])).toEqual({
      status: 'WARN',
      reasons: ['revenue 10 below 1,000'],
    });
  });

  it('uses only the first row', () => {
    expect(
      evaluateRules(rules, [
        { failure_rate: 0, revenue: 5000, p95_ms: 0, region: 'x' },
        { failure_rate: 1, revenue: 0, p95_ms: 0, region: 'x' },
      ]).status,
    ).toBe('OK');
  });

  it('no row → NoData; a query error → Error with its message', () => {
    expect(evaluateRules(rules, [])).toEqual({ status: 'NoData', reasons: ['the query returned no row'] });
    expect(evaluateRules(rules, undefined, new Error('Catalog Error: Table kpis does not exist'))).toEqual({
      status: 'Error',
      reasons: ['Catalog Error: Table kpis does not exist'],
    });
  });

  it('compares numeric strings and bigints as numbers, text as text, and nulls never order', () => {
    const r = (field: string, op: AlertRule['when']['op'], value: unknown): AlertRule => ({
      when: { field, op, value },
      state: 'WARN',
      reason: `${field} ${op}`,
    });
    expect(evaluateRules([r('a', '>', 9)], [{ a: '10' }]).status).toBe('WARN'); // "10" > 9 numerically
    expect(evaluateRules([r('a', '>', 9)], [{ a: 10n }]).status).toBe('WARN');
    expect(evaluateRules([r('s', '==', 'down')], [{ s: 'down' }]).status).toBe('WARN');
    expect(evaluateRules([r('s', '!=', 'up')], [{ s: 'up' }]).status).toBe('OK');
    expect(evaluateRules([r('a', '<', 5)], [{ a: null }]).status).toBe('OK');
    expect(evaluateRules([r('a', '<', 5)], [{ a: 'abc' }]).status).toBe('OK');
    expect(evaluateRules([r('a', '!=', 5)], [{ a: null }]).status).toBe('WARN');
  });

  it('leaves unknown placeholders in a reason as they are', () => {
    expect(
      evaluateRules(
        [{ when: { field: 'a', op: '>', value: 0 }, state: 'CRIT', reason: '{a} and {missing}' }],
        [{ a: 1 }],
      ).reasons,
    ).toEqual(['1 and {missing}']);
  });
});

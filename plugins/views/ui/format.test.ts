// The one formatting layer: every defect the issue listed, as a case.
import { describe, expect, it } from 'vitest';
import { evaluateRules } from '../shared/rules.ts';
import {
  axisFormatter,
  columnLabel,
  computeDelta,
  formatCell,
  formatDuration,
  formatTime,
  formatValue,
  humanize,
  niceScale,
  shortTime,
  timeAgo,
} from './format.ts';

const utc = { locale: 'en-US', timeZone: 'UTC' };
const number = { name: 'x', type: 'number' as const };

describe('formatValue', () => {
  it('keeps what a number carries: cents, whole numbers, small fractions; declared decimals always', () => {
    expect(formatValue(961.73)).toBe('961.73');
    expect(formatValue(1234.5678)).toBe('1,234.57');
    expect(formatValue(37.5)).toBe('37.5');
    expect(formatValue(1200)).toBe('1,200');
    expect(formatValue(0.012345)).toBe('0.01235');
    expect(formatValue(6.3974, { decimals: 4 })).toBe('6.3974');
    expect(formatValue(6.4, { decimals: 4 })).toBe('6.4000');
    expect(formatValue(1234567, { format: 'integer' })).toBe('1,234,567');
    expect(formatValue(42, { format: 'number', unit: 'ms' })).toBe('42 ms');
    expect(formatValue(99.5, { unit: '%' })).toBe('99.5%');
  });

  it('formats money with its currency and cents; compact figures with three significant digits', () => {
    expect(formatValue(1234.5, { format: 'currency', currency: 'EUR' })).toBe('€1,234.50');
    expect(formatValue(800.41, { format: 'currency', currency: 'USD' })).toBe('$800.41');
    expect(formatValue(1500, { format: 'currency', currency: 'JPY' })).toBe('¥1,500');
    expect(formatValue(2_000_000, { format: 'currency', currency: 'USD', compact: true })).toBe('$2.00M');
    expect(formatValue(2_100_000, { format: 'currency', currency: 'USD', compact: true })).toBe('$2.10M');
    expect(formatValue(145_123, { format: 'currency', currency: 'EUR', compact: true })).toBe('€145K');
    expect(formatValue(98_765, { format: 'currency', currency: 'USD', compact: true })).toBe('$98,765.00');
    expect(formatValue(2_100_000, { format: 'currency', currency: 'USD', compact: true, decimals: 2 })).toBe('$2.10M');
    expect(formatValue(1234.5, { format: 'currency', currency: 'EUR', locale: 'de-DE' })).toBe('1.234,50\u00a0€');
    expect(formatValue(5, { format: 'currency', currency: 'NOPE' })).toBe('$5.00');
  });

  it('shows fractions as percentages, durations readably', () => {
    expect(formatValue(1, { format: 'percent' })).toBe('100%');
    expect(formatValue(0.3, { format: 'percent' })).toBe('30%');
    expect(formatValue(0.0523, { format: 'percent' })).toBe('5.2%');
    expect(formatValue(0.0523, { format: 'percent', decimals: 2 })).toBe('5.23%');
    expect(formatValue(0.25, { format: 'percent', decimals: 1 })).toBe('25.0%');
    expect(formatValue(850, { format: 'duration' })).toBe('850 ms');
    expect(formatValue(1.25, { format: 'duration', unit: 's' })).toBe('1.3 s');
    expect(formatDuration(200_000)).toBe('3 min 20 s');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });

  it('shows a dash for missing values, Yes/No for booleans, dates as dates, text as text', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue(NaN)).toBe('—');
    expect(formatValue(true)).toBe('Yes');
    expect(formatValue(false)).toBe('No');
    expect(formatValue('2026-11-20')).toBe('2026-11-20');
    expect(formatValue('<b>x</b>')).toBe('<b>x</b>');
    expect(formatValue('42')).toBe('42');
  });
});

describe("one date style, in the view's zone, the zone named", () => {
  it('formats timestamps as YYYY-MM-DD HH:mm:ss with the zone', () => {
    expect(formatTime('2026-12-06T20:04:13.000Z')).toBe('2026-12-06 20:04:13 UTC');
    expect(formatTime('2026-12-06T20:04:13.000Z', { timeZone: 'Asia/Kolkata' })).toBe('2026-12-07 01:34:13 GMT+5:30');
    expect(formatTime('2026-12-06T20:04:13.000Z', { seconds: false, zone: false })).toBe('2026-12-06 20:04');
    expect(formatValue('2026-12-06T20:04:13.000Z', { timeZone: 'UTC' })).toBe('2026-12-06 20:04:13 UTC');
    expect(shortTime('2026-12-06T20:04:13.000Z', 'UTC', Date.parse('2026-12-06T22:00:00Z'))).toBe('20:04 UTC');
    expect(shortTime('2026-12-05T20:04:13.000Z', 'UTC', Date.parse('2026-12-06T22:00:00Z'))).toBe(
      '2026-12-05 20:04 UTC',
    );
  });

  it('a table cell leaves the zone to its header; a date column never moves', () => {
    expect(formatCell('2026-12-06T20:04:13.000Z', { name: 't', type: 'timestamp' }, undefined, utc)).toBe(
      '2026-12-06 20:04:13',
    );
    expect(columnLabel('TRANSACTION_TIME', undefined, { name: 'TRANSACTION_TIME', type: 'timestamp' }, 'UTC')).toBe(
      'Transaction time (UTC)',
    );
    expect(
      formatCell('2026-11-20', { name: 'd', type: 'date' }, undefined, {
        locale: 'en-US',
        timeZone: 'America/Los_Angeles',
      }),
    ).toBe('2026-11-20');
  });
});

describe('cells and headers', () => {
  it('formats a cell by its declared spec, else by its type', () => {
    expect(formatCell(961.73, number, undefined, utc)).toBe('961.73');
    expect(formatCell(961.73, number, { currencyColumn: 'currency' }, utc, { currency: 'BRL' })).toBe('R$961.73');
    expect(formatCell(6.3974, number, { decimals: 4 }, utc)).toBe('6.3974');
    expect(formatCell(1137, number, { format: 'currency' }, { ...utc, currency: 'USD' })).toBe('$1,137.00');
    expect(formatCell(true, { name: 'b', type: 'boolean' }, undefined, utc)).toBe('Yes');
    expect([0.09, 0.104].map((v) => formatCell(v, number, { format: 'percent' }, utc))).toEqual(['9.0%', '10.4%']);
  });

  it('headers: the declared label, else the name made readable', () => {
    expect(columnLabel('usd_amount', { label: 'USD' }, number, 'UTC')).toBe('USD');
    expect(columnLabel('WINDOW_START', undefined, number, 'UTC')).toBe('Window start');
    expect(humanize('fxRateTime')).toBe('Fx rate time');
  });
});

describe('axes', () => {
  it('labels neighbouring ticks differently, in one unit per axis', () => {
    const scale = niceScale(1040, 1110);
    expect(scale).toEqual({ min: 1040, max: 1120, step: 20 });
    const labels = axisFormatter({}, scale.step, 1120);
    expect([1040, 1060, 1080, 1100, 1120].map(labels)).toEqual(['1,040', '1,060', '1,080', '1,100', '1,120']);
    const money = axisFormatter({ format: 'currency', currency: 'USD' }, 50_000, 250_000);
    expect([0, 100_000, 150_000, 200_000].map(money)).toEqual(['$0', '$100K', '$150K', '$200K']);
    const fine = axisFormatter({ format: 'currency', currency: 'USD' }, 2_500, 120_000);
    expect([100_000, 102_500, 105_000].map(fine)).toEqual(['$100.0K', '$102.5K', '$105.0K']);
    const percent = axisFormatter({ format: 'percent' }, 0.005, 0.03);
    expect([0.01, 0.015, 0.02].map(percent)).toEqual(['1.0%', '1.5%', '2.0%']);
  });
});

describe('alert reasons show values like their columns', () => {
  it('a failure rate and its threshold as percentages, not fractions', () => {
    const rules = [
      {
        when: { field: 'failure_rate', op: '>' as const, value: '0.30' },
        state: 'WARN' as const,
        reason: 'payment failure rate {failure_rate} above {threshold}',
      },
    ];
    const show = (field: string, value: unknown) =>
      formatCell(value, number, { failure_rate: { format: 'percent' as const } }[field], utc);
    expect(evaluateRules(rules, [{ failure_rate: 1 }], undefined, show).reasons).toEqual([
      'payment failure rate 100.0% above 30.0%',
    ]);
    expect(evaluateRules(rules, [{ failure_rate: 0.31 }]).reasons).toEqual(['payment failure rate 0.31 above 0.3']);
  });
});

describe('computeDelta', () => {
  it('computes the change and whether it is good news', () => {
    expect(computeDelta(110, 100)).toMatchObject({ direction: 'up', good: true, text: '+10.0%' });
    expect(computeDelta(90, 100)).toMatchObject({ direction: 'down', good: false, text: '−10.0%' });
    expect(computeDelta(90, 100, true)).toMatchObject({ direction: 'down', good: true });
    expect(computeDelta(5, 0)).toMatchObject({ ratio: null, text: 'new' });
    expect(computeDelta(100, 100)).toMatchObject({ direction: 'flat', good: null });
    expect(computeDelta(null, 100)).toBeNull();
  });
});

describe('timeAgo', () => {
  it('reads like speech', () => {
    const now = Date.parse('2024-01-01T12:00:00Z');
    expect(timeAgo('2024-01-01T11:59:55Z', now)).toBe('just now');
    expect(timeAgo('2024-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(timeAgo('2024-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo(null, now)).toBe('never');
  });
});

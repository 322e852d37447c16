import { base, en, Faker } from '@faker-js/faker';
import { describe, expect, it } from 'vitest';
import { rowCount, type Batch, type Clock, type Row } from '../../../core/sdk/index.ts';
import { createTestStep, readAll } from '../../../core/testing.ts';
import plugin, { type Generator } from './index.ts';

const fields = {
  id: { template: 'TX-{{digits:10}}-{{year}}' },
  n: { sequence: { start: 1 } },
  code: { sequence: { start: 7, prefix: 'ORD-', pad: 4 } },
  type: { oneOf: ['login', 'purchase', 'payment_failed'], weights: [60, 30, 10] },
  amount: { when: { field: 'type', in: ['purchase', 'payment_failed'] }, then: { float: [5, 250], decimals: 2 } },
  status: {
    when: { field: 'type', in: ['purchase'] },
    then: { const: 'success' },
    else: { when: { field: 'type', in: ['payment_failed'] }, then: { const: 'failed' }, else: { const: 'ok' } },
  },
  user: { template: 'user_{{int:1:2000}}' },
  ref: { template: '{{type}}#{{index}}' },
  name: { faker: 'person.firstName' },
  score: { faker: 'number.int', args: [{ min: 3, max: 4 }] },
  qty: { int: [1, 3] },
  uid: { uuid: true },
  at: { now: true },
  fixed: { const: 'x' },
};

/** A clock whose time moves only when someone sleeps. */
function fakeClock(start = '2024-05-01T10:00:00.000Z') {
  let t = new Date(start).getTime();
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => new Date(t),
    sleep: async (ms, signal) => {
      if (signal?.aborted) return;
      sleeps.push(ms);
      t += ms;
    },
  };
  return { clock, sleeps };
}

describe('generator source', () => {
  it('makes count records in batches, each field by its spec; the checkpoint is the number emitted', async () => {
    const { clock } = fakeClock();
    const step = await createTestStep<Generator>(
      plugin,
      'source',
      { seed: 3, count: 250, batchSize: 100, fields },
      { services: { clock } },
    );
    const batches = [];
    for await (const batch of step.plugin.read({
      once: false,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      batches.push(batch);
    expect(batches.map((b) => [rowCount(b.records), b.checkpoint])).toEqual([
      [100, 100],
      [100, 200],
      [50, 250],
    ]);
    const records = batches.flatMap((b) => b.records as Row[]);
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(records.slice(0, 2).map((r) => r.code)).toEqual(['ORD-0007', 'ORD-0008']);
    for (const [i, r] of records.entries()) {
      expect(r.id).toMatch(/^TX-\d{10}-2024$/);
      expect(['login', 'purchase', 'payment_failed']).toContain(r.type);
      if (r.type === 'login') expect(r).toMatchObject({ amount: null, status: 'ok' });
      else {
        expect(r.amount as number).toBeGreaterThanOrEqual(5);
        expect(r.amount as number).toBeLessThanOrEqual(250);
        expect(Math.round((r.amount as number) * 100)).toBeCloseTo((r.amount as number) * 100, 6);
        expect(r.status).toBe(r.type === 'purchase' ? 'success' : 'failed');
      }
      expect(r.user).toMatch(/^user_\d+$/);
      expect(r.ref).toBe(`${r.type}#${i}`);
      expect(typeof r.name).toBe('string');
      expect([3, 4]).toContain(r.score);
      expect([1, 2, 3]).toContain(r.qty);
      expect(r.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(r.at).toEqual(new Date('2024-05-01T10:00:00.000Z'));
      expect(r.fixed).toBe('x');
    }
    const logins = records.filter((r) => r.type === 'login').length;
    expect(logins).toBeGreaterThan(120); // ~60% of 250
    expect(logins).toBeLessThan(180);
    expect(new Set(records.map((r) => r.uid)).size).toBe(250);
  });

  it('is reproducible, and resuming from a checkpoint continues the same stream instead of repeating ids', async () => {
    const { clock } = fakeClock();
    const a = await createTestStep<Generator>(
      plugin,
      'source',
      { seed: 9, count: 20, batchSize: 5, fields },
      { services: { clock } },
    );
    const all = (await readAll(a.plugin)).records;
    const b = await createTestStep<Generator>(
      plugin,
      'source',
      { seed: 9, count: 20, batchSize: 5, fields },
      { services: { clock } },
    );
    const resumed = await readAll(b.plugin, { checkpoint: 12 });
    expect(resumed.records).toEqual(all.slice(12));
    expect(resumed.checkpoint).toBe(20);
    const other = await createTestStep<Generator>(
      plugin,
      'source',
      { seed: 10, count: 20, batchSize: 5, fields },
      { services: { clock } },
    );
    expect((await readAll(other.plugin)).records.map((r) => r.uid)).not.toEqual(all.map((r) => r.uid));
  });

  it("draws faker's English values, its locale-independent data too (country and currency codes), as faker does", async () => {
    const { clock } = fakeClock();
    const fakerFields = {
      name: { faker: 'person.fullName' },
      country: { faker: 'location.countryCode' },
      currency: { faker: 'finance.currencyCode' },
    };
    const step = await createTestStep<Generator>(
      plugin,
      'source',
      { seed: 5, count: 50, batchSize: 50, fields: fakerFields },
      { services: { clock } },
    );
    const records = (await readAll(step.plugin)).records;
    // Independently: faker's own English instance, seeded as the generator documents (record i from seed and i).
    const faker = new Faker({ locale: [en, base] });
    const expected = records.map((_, i) => {
      faker.seed(5 * 1_000_003 + i);
      return {
        name: faker.person.fullName(),
        country: faker.location.countryCode(),
        currency: faker.finance.currencyCode(),
      };
    });
    expect(records).toEqual(expected);
    expect(new Set(records.map((r) => r.country)).size).toBeGreaterThan(10);
  });

  it('paces a streaming source by its rate until stopped, stamping each batch with the clock', async () => {
    const { clock, sleeps } = fakeClock();
    const step = await createTestStep<Generator>(
      plugin,
      'source',
      { rate: 100, batchSize: 10, fields: { n: { sequence: {} }, at: { now: true } } },
      { services: { clock } },
    );
    const controller = new AbortController();
    const batches: Batch[] = [];
    for await (const batch of step.plugin.read({ once: false, signal: controller.signal, checkpoint: 30 })) {
      batches.push(batch);
      if (batches.length === 5) controller.abort();
    }
    expect(
      batches
        .map((b) => b.records as Row[])
        .map((r, i) => [r[0].n, r.length, batches[i].checkpoint, (r[9].at as Date).toISOString()]),
    ).toEqual([
      [31, 10, 40, '2024-05-01T10:00:00.000Z'],
      [41, 10, 50, '2024-05-01T10:00:00.100Z'],
      [51, 10, 60, '2024-05-01T10:00:00.200Z'],
      [61, 10, 70, '2024-05-01T10:00:00.300Z'],
      [71, 10, 80, '2024-05-01T10:00:00.400Z'],
    ]);
    expect(sleeps).toEqual([100, 100, 100, 100]); // 10 records at 100/s, the first batch at once
  });

  it('paces by real time with the system clock', async () => {
    const step = await createTestStep<Generator>(plugin, 'source', {
      rate: 200,
      batchSize: 10,
      count: 50,
      fields: { n: { sequence: {} } },
    });
    const started = Date.now();
    const { records } = await readAll(step.plugin, { once: false });
    expect(records).toHaveLength(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190); // 4 waits of 50 ms
  });

  it('with --once makes one batch (or count records) at once, without sleeping', async () => {
    const { clock, sleeps } = fakeClock();
    const step = await createTestStep<Generator>(
      plugin,
      'source',
      { rate: 1, batchSize: 7, fields: { n: { sequence: {} } } },
      { services: { clock } },
    );
    const first = await readAll(step.plugin);
    expect(first).toEqual({ records: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ n })), rejects: [], checkpoint: 7 });
    expect((await readAll(step.plugin, { checkpoint: 7 })).records.map((r) => r.n)).toEqual([8, 9, 10, 11, 12, 13, 14]);
    const counted = await createTestStep<Generator>(
      plugin,
      'source',
      { rate: 1, count: 12, batchSize: 5, fields: { n: { sequence: {} } } },
      { services: { clock } },
    );
    expect((await readAll(counted.plugin)).records).toHaveLength(12);
    expect(sleeps).toEqual([]);
  });

  it('makes a share of records malformed when asked, reproducibly', async () => {
    const { clock } = fakeClock();
    const config = {
      seed: 5,
      count: 400,
      batchSize: 400,
      fields: { amount: { float: [10, 20] }, currency: { oneOf: ['USD', 'EUR'] }, at: { now: true } },
      corrupt: { ratio: 0.25, fields: ['amount', 'at'] },
    };
    const step = await createTestStep<Generator>(plugin, 'source', config, { services: { clock } });
    const { records } = await readAll(step.plugin);
    const badAmount = records.filter((r) => !(typeof r.amount === 'number' && r.amount >= 10 && r.amount <= 20));
    const badAt = records.filter((r) => !(r.at instanceof Date));
    expect(badAmount.length + badAt.length).toBeGreaterThan(70);
    expect(badAmount.length + badAt.length).toBeLessThan(130);
    for (const r of badAmount)
      expect(
        r.amount === null ||
          (typeof r.amount === 'number' && r.amount < 0) ||
          /^\d+,\d+ €$|^\d+ €$/.test(String(r.amount)),
      ).toBe(true);
    for (const r of badAt) expect([null, 'not a date', '31/02/2024 25:61']).toContain(r.at);
    expect(records.every((r) => r.currency === 'USD' || r.currency === 'EUR')).toBe(true);
    const again = await createTestStep<Generator>(plugin, 'source', config, { services: { clock } });
    expect((await readAll(again.plugin)).records).toEqual(records);

    const chosen = await createTestStep<Generator>(plugin, 'source', {
      count: 50,
      fields: { v: { const: 1 } },
      corrupt: { ratio: 1, fields: ['v'], values: ['bad'] },
    });
    expect(new Set((await readAll(chosen.plugin)).records.map((r) => r.v))).toEqual(new Set(['bad']));
  });

  it('fails at construction with the field named when its spec is wrong', async () => {
    const make = (f: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      createTestStep(plugin, 'source', { count: 1, fields: f, ...extra }, { id: 'gen' });
    await expect(make({ who: { faker: 'person.nope' } })).rejects.toThrow(
      'gen: field who: unknown faker method "person.nope"',
    );
    await expect(make({ t: { oneOf: ['a', 'b'], weights: [1] } })).rejects.toThrow(
      'gen: field t: weights has 1 numbers for 2 values',
    );
    await expect(make({ t: { template: 'x-{{later}}' }, later: { const: 1 } })).rejects.toThrow(
      'gen: field t: template "x-{{later}}": unknown placeholder {{later}}',
    );
    await expect(make({ a: { when: { field: 'b', in: [1] }, then: { const: 1 } }, b: { const: 1 } })).rejects.toThrow(
      'gen: field a: when: field "b" is not made before this one',
    );
    await expect(make({ a: { int: [1, 2], float: [1, 2] } })).rejects.toThrow(
      'gen: field a: give one of int, float, not several',
    );
    await expect(make({ a: { int: [5, 1] } })).rejects.toThrow('gen: field a: int: min 5 is above max 1');
    await expect(make({ a: { fakr: 'person.firstName' } })).rejects.toThrow('unknown property "fakr"');
    await expect(make({ k: { const: 1 }, a: { when: { field: 'k', in: [1] } } })).rejects.toThrow(
      'fields.a: must have property then when property when is present',
    );
    await expect(make({ a: { const: 1, else: { const: 2 } } })).rejects.toThrow(
      'fields.a: must have property when when property else is present',
    );
    await expect(make({ a: { const: 1 } }, { corrupt: { ratio: 0.1, fields: ['b'] } })).rejects.toThrow(
      'gen: corrupt.fields: b not among the fields',
    );
    await expect(make({ a: { dayTime: [20, 8] } })).rejects.toThrow(
      'gen: field a: dayTime: hours [20, 8] must satisfy 0 <= from < to <= 24',
    );
    await expect(make({ a: { const: 1 } }, { daily: true, count: undefined })).rejects.toThrow(
      'gen: daily needs count (the records of a day) and no rate',
    );
  });

  it('daily: makes the same records for the same day (the --date, else today + dayOffset), other ones for another day', async () => {
    const { clock } = fakeClock('2024-05-02T01:00:00.000Z');
    const config = {
      seed: 5,
      count: 30,
      batchSize: 20,
      daily: true,
      dayOffset: -1,
      fields: { id: { template: 'S-{{date}}-{{index}}' }, at: { dayTime: [8, 22] }, qty: { int: [1, 9] } },
    };
    const step = await createTestStep<Generator>(plugin, 'source', config, { services: { clock } });
    const yesterday = await readAll(step.plugin);
    expect(yesterday.records.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => `S-2024-05-01-${i}`));
    expect(yesterday.checkpoint).toEqual({ day: '2024-05-01' });
    for (const r of yesterday.records) {
      const hours = ((r.at as Date).getTime() - Date.parse('2024-05-01T00:00:00Z')) / 3_600_000;
      expect(hours).toBeGreaterThanOrEqual(8);
      expect(hours).toBeLessThan(22);
    }
    // A backfill of that day (even with a checkpoint) gives the same records; another day other ones.
    expect((await readAll(step.plugin, { date: '2024-05-01', checkpoint: { day: '2024-05-01' } })).records).toEqual(
      yesterday.records,
    );
    const other = await readAll(step.plugin, { date: '2024-04-30' });
    expect(other.records[0].id).toBe('S-2024-04-30-0');
    expect((other.records[0].at as Date).toISOString().slice(0, 10)).toBe('2024-04-30');
    expect(other.records.map((r) => r.qty)).not.toEqual(yesterday.records.map((r) => r.qty));
  });
});

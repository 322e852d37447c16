import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import plugin, { type Generator } from './index.ts';

const fields = {
  id: { template: 'TX-{{digits:10}}-{{year}}' },
  n: { sequence: { start: 1 } },
  type: { oneOf: ['login', 'purchase', 'payment_failed'], weights: [60, 30, 10] },
  amount: { when: { field: 'type', in: ['purchase', 'payment_failed'] }, then: { float: [5, 250], decimals: 2 } },
  user: { template: 'user_{{int:1:2000}}' },
  name: { faker: 'person.firstName' },
  uid: { uuid: true },
  at: { now: true },
  fixed: { const: 'x' },
};

describe('generator source', () => {
  it('makes count records in batches, each field by its spec', async () => {
    const step = await createTestStep<Generator>(plugin, 'source', { seed: 3, count: 250, batchSize: 100, fields });
    const { records, checkpoint } = await readAll(step.plugin);
    expect(records).toHaveLength(250);
    expect(checkpoint).toBe(250);
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    for (const r of records) {
      expect(r.id).toMatch(new RegExp(`^TX-\\d{10}-${new Date().getUTCFullYear()}$`));
      expect(['login', 'purchase', 'payment_failed']).toContain(r.type);
      if (r.type === 'login') expect(r.amount).toBeNull();
      else expect(r.amount as number).toBeGreaterThanOrEqual(5);
      expect(r.user).toMatch(/^user_\d+$/);
      expect(r.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.at).toBeInstanceOf(Date);
      expect(r.fixed).toBe('x');
    }
    const logins = records.filter((r) => r.type === 'login').length;
    expect(logins).toBeGreaterThan(120); // ~60% of 250
    expect(logins).toBeLessThan(180);
  });

  it('is reproducible, and resuming from a checkpoint continues the same stream', async () => {
    const noTime = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'at' && k !== 'id'));
    const a = await createTestStep<Generator>(plugin, 'source', { seed: 9, count: 20, batchSize: 5, fields: noTime });
    const all = (await readAll(a.plugin)).records;
    const b = await createTestStep<Generator>(plugin, 'source', { seed: 9, count: 20, batchSize: 5, fields: noTime });
    const resumed = (await readAll(b.plugin, { checkpoint: 12 })).records;
    expect(resumed).toEqual(all.slice(12));
  });

  it('paces a streaming source by its rate until stopped', async () => {
    const step = await createTestStep<Generator>(plugin, 'source', { rate: 100, batchSize: 10, fields: { n: { sequence: {} } } });
    const controller = new AbortController();
    const started = Date.now();
    let total = 0;
    for await (const batch of step.plugin.read({ once: false, signal: controller.signal, checkpoint: undefined })) {
      total += batch.records.length;
      if (total >= 50) controller.abort();
    }
    expect(total).toBe(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350); // 50 records at 100/s, the first batch immediately
  });

  it('names the field when its spec is wrong', async () => {
    const step = await createTestStep<Generator>(plugin, 'source', { count: 1, fields: { who: { faker: 'person.nope' } } });
    await expect(readAll(step.plugin)).rejects.toThrow('field who: unknown faker method "person.nope"');
  });
});

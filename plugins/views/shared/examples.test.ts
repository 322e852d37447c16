// The documented manifest examples validate, construct, and every endpoint answers over seeded tables.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { SqlClient, View } from '../../../core/sdk/index.ts';
import { createTestStep } from '../../../core/testing.ts';
import api from '../api/index.ts';
import dashboard from '../dashboard/index.ts';
import { GLOBEMART_YAML, MONITOR_YAML, STAR_SCHEMA_YAML } from './examples.ts';
import { mountView } from './testing.ts';

const SEED = `
  CREATE TABLE orders AS SELECT now() - INTERVAL (i * 7) MINUTE AS order_ts, ['DE','FR','US','GB','JP'][i % 5 + 1] AS country,
    ['EUR','EUR','USD','GBP','JPY'][i % 5 + 1] AS currency, 10.0 + i % 90 AS amount, (10.0 + i % 90) * 0.9 AS amount_eur FROM range(2000) t(i);
  CREATE TABLE fx_rates AS SELECT now() - INTERVAL (i) HOUR AS ts, c AS currency, 1.0 + i / 1000 AS rate FROM range(200) t(i), (VALUES ('USD'), ('GBP')) v(c);
  CREATE TABLE kpis AS SELECT now() - INTERVAL (i) MINUTE AS ts, 900.0 + i AS revenue, 0.01 AS failure_rate, 300 + i AS p95_ms FROM range(600) t(i);
  CREATE TABLE dim_date AS SELECT i AS date_key, (DATE '2023-12-01' + INTERVAL (i) DAY)::DATE AS date FROM range(120) t(i);
  CREATE TABLE dim_location (location_key INTEGER, region VARCHAR, state VARCHAR, city VARCHAR);
  INSERT INTO dim_location VALUES (1, 'West', 'CA', 'San Francisco'), (2, 'West', 'CA', 'Los Angeles'), (3, 'West', 'WA', 'Seattle'), (4, 'East', 'NY', 'New York');
  CREATE TABLE fact_sales AS SELECT i % 120 AS date_key, i % 4 + 1 AS location_key, ['web','store','phone'][i % 3 + 1] AS channel, 5.0 + i % 50 AS amount FROM range(5000) t(i);
`;

async function build(yaml: string) {
  const steps = Object.entries(
    parse(yaml) as Record<string, { use: string; from: string[]; connection: string; with: Record<string, unknown> }>,
  );
  const built = [];
  for (const [id, declaration] of steps) {
    const step = await createTestStep<View>(declaration.use === 'api' ? api : dashboard, 'view', declaration.with, {
      id,
      from: declaration.from,
      connection: declaration.connection,
      connections: { [declaration.connection]: { type: 'duckdb', path: ':memory:' } },
    });
    const client = await step.services.connections.get<SqlClient>(declaration.connection);
    await client.exec(SEED);
    built.push({ id, step, app: await mountView(step.plugin, id), config: step.plugin });
  }
  return built;
}

describe.each([
  ['GlobeMart', GLOBEMART_YAML],
  ['revenue monitor', MONITOR_YAML],
  ['star schema', STAR_SCHEMA_YAML],
])('the %s example', (_, yaml) => {
  it('validates, renders and answers on every endpoint', async () => {
    for (const { id, step, app } of await build(yaml)) {
      const paths = Object.keys(step.plugin.openapi!()).filter(
        (p) => p.startsWith(`/api/views/${id}/`) && !/[{]|\/events$|\/upload\//.test(p),
      );
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        const response = await app.request(path);
        const body = (await response.json()) as { data: unknown[]; status?: string; error?: string };
        expect({ path, status: response.status, error: body.error }).toEqual({ path, status: 200, error: undefined });
        if (body.status) expect(body.status).not.toBe('Error');
      }
      if (step.plugin.describe && id !== 'monitor-api')
        expect((await app.request(step.plugin.describe().path)).status).toBe(200);
      await step.close();
    }
  });
});

describe('the examples behave as documented', () => {
  it('revenue monitor: status, legacy alias with limit bounds, CSV', async () => {
    const [monitor, monitorApi] = await build(MONITOR_YAML);
    const status = (await (await monitor.app.request('/api/views/monitor/status')).json()) as {
      status: string;
      reasons: string[];
    };
    expect(status).toMatchObject({ status: 'WARN', reasons: ['revenue 900 below 1,000 a minute'] });
    const latest = (await (await monitorApi.app.request('/api/kpis/latest')).json()) as {
      data: unknown[];
      status: string;
    };
    expect(latest.data).toHaveLength(50);
    expect(latest.status).toBe('WARN');
    expect((await monitorApi.app.request('/api/kpis/latest?limit=0')).status).toBe(400);
    expect((await monitorApi.app.request('/api/kpis/latest?limit=501')).status).toBe(400);
    expect(await (await monitorApi.app.request('/api/kpis/latest?limit=1&format=csv')).text()).toMatch(
      /^ts,revenue,failure_rate,p95_ms\r\n/,
    );
    await monitor.step.close();
    await monitorApi.step.close();
  });

  it('star schema: cities narrow to the chosen region and state', async () => {
    const [star] = await build(STAR_SCHEMA_YAML);
    const options = async (query: string) =>
      (
        (await (await star.app.request(`/api/views/sales-star/filters/city?${query}`)).json()) as {
          options: { value: string }[];
        }
      ).options.map((o) => o.value);
    expect(await options('')).toEqual(['Los Angeles', 'New York', 'San Francisco', 'Seattle']);
    expect(await options('region=West')).toEqual(['Los Angeles', 'San Francisco', 'Seattle']);
    expect(await options('region=West&state=CA')).toEqual(['Los Angeles', 'San Francisco']);
    const ma = (await (
      await star.app.request('/api/views/sales-star/moving_average?dates=2024-01-01..2024-01-10')
    ).json()) as { data: { date: string }[] };
    expect(ma.data.map((r) => r.date)).toEqual(
      Array.from({ length: 10 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`),
    );
    await star.step.close();
  });
});

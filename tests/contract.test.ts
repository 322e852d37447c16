// The OpenAPI document says exactly what the server does: every operation of /api/openapi.json is called with
// parameters generated from its own schemas, valid and invalid, and every answer must be a documented status whose
// body matches the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../cli/catalog.ts';
import { corePages, mountCoreAssets } from '../cli/pages.ts';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { createServer } from '../core/server/app.ts';

type Schema = Record<string, any>;
// ajv-formats is CommonJS; its default export arrives wrapped under ESM (as in core/manifest/config.ts).
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;
interface Parameter {
  name: string;
  in: 'query' | 'path';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  requestBody?: unknown;
}

const MANIFEST = `name: contract
description: a pipeline with every kind of view endpoint
access:
  roles:
    viewer: { token: "" }
    uploader: { token: up-secret }
  public: [open]
connections:
  wh:
    type: duckdb
    path: ":memory:"
    init:
      - >-
        CREATE TABLE sales AS SELECT now() - to_hours(i) AS ts, ['DE', 'FR', 'US'][1 + i % 3] AS country, ['EUR', 'USD'][1 + i % 2] AS currency,
          (i * 7.31) % 500 AS amount, DATE '2026-11-01' + CAST(i % 20 AS INTEGER) AS day FROM range(200) t(i)
  pg:
    type: postgres
    url: embedded
    init:
      - CREATE TABLE IF NOT EXISTS sales (country text, amount numeric(12,2), day date)
      - INSERT INTO sales SELECT (ARRAY['DE','FR'])[1 + i % 2], i * 1.5, DATE '2026-11-01' + i FROM generate_series(1, 30) i
sources:
  orders: { use: generator, with: { count: 5, seed: 1, fields: { n: { sequence: { start: 1 } } } } }
sinks:
  out: { use: console, from: orders }
views:
  dash:
    use: dashboard
    from: [out]
    connection: wh
    with:
      title: Contract
      currency: EUR
      filters:
        period: { type: timeRange, column: ts, options: [12h, 24h, 7d], default: 7d }
        country: { type: select, column: country, query: "SELECT DISTINCT country FROM sales ORDER BY 1" }
        currency: { type: multiSelect, column: currency, options: [EUR, USD] }
        days: { type: dateRange, column: day }
        size: { type: select, valueType: integer, options: [1, 10, 100] }
      widgets:
        - { id: revenue, type: kpi, format: currency, sparkline: true, query: "SELECT sum(amount) AS value FROM sales {{where}}" }
        - { id: by_country, type: bar, filters: [period, country, currency], query: "SELECT country, sum(amount) AS revenue FROM sales {{where}} GROUP BY 1 ORDER BY 2 DESC" }
        - { id: trend, type: line, x: day, series: currency, filters: [days], query: "SELECT day, currency, sum(amount) AS amount FROM sales {{where}} GROUP BY 1, 2 ORDER BY 1" }
        - { id: rows, type: table, pageSize: 5, query: "SELECT ts, country, currency, amount, day FROM sales {{where}} ORDER BY ts DESC LIMIT :size" }
        - { id: watch, type: alert, filters: [], query: "SELECT count(*) AS n FROM sales", rules: [{ when: { field: n, op: '>', value: 10 }, state: WARN, reason: "{n} rows above {threshold}" }] }
        - { id: broken, type: kpi, filters: [], query: "SELECT * FROM no_such_table" }
        - { id: file, type: upload, target: orders }
  open:
    use: dashboard
    from: [out]
    connection: pg
    with:
      filters:
        days: { type: dateRange, column: day }
      widgets:
        - { id: days, type: table, query: "SELECT country, amount, day FROM sales {{where}} ORDER BY day" }
  feed:
    use: api
    from: [out]
    connection: wh
    with:
      health: { path: /health, maxAge: 10m }
      endpoints:
        - { path: latest, formats: [json, csv, parquet], params: { limit: { type: integer, minimum: 1, maximum: 50, default: 5 }, day: { type: date } },
            query: "SELECT * FROM sales WHERE (:day IS NULL OR day = :day) ORDER BY ts DESC LIMIT :limit" }
`;

/** A deterministic random source, so a failure can be replayed. */
function random(seed: number) {
  return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

/** Values a parameter's schema allows: enum members, bounds and the middle of a range, its default, a pattern's form. */
function validValues(schema: Schema, pick: () => number): unknown[] {
  if (schema.type === 'array')
    return [validValues(schema.items, pick).slice(0, 1), validValues(schema.items, pick).slice(0, 2)];
  if (schema.enum) return schema.enum;
  if (schema.type === 'integer' || schema.type === 'number') {
    const min = schema.minimum ?? 0;
    const max = schema.maximum ?? min + 1000;
    return [
      min,
      max,
      Math.floor(min + pick() * (max - min)),
      ...(schema.default !== undefined ? [schema.default] : []),
    ];
  }
  if (schema.format === 'date') return ['2026-11-05'];
  if (schema.pattern?.includes('\\.\\.')) return ['2026-11-03..2026-11-09', '..2026-11-09', '2026-11-03..', ''];
  return ['DE', 'x'];
}

/** Values it does not allow (each must be refused with a documented answer). */
function invalidValues(schema: Schema): unknown[] {
  if (schema.type === 'array') return invalidValues(schema.items).map((v) => [v]);
  const out: unknown[] = [];
  if (schema.enum) out.push('not-an-option');
  if (schema.type === 'integer') out.push('abc', '1.5');
  if (schema.type === 'integer' || schema.type === 'number') {
    if (schema.minimum !== undefined) out.push(schema.minimum - 1);
    if (schema.maximum !== undefined) out.push(schema.maximum + 1);
  }
  if (schema.format === 'date') out.push('2026-02-30', 'yesterday');
  if (schema.pattern) out.push('2026-13-01..', 'soon');
  return out;
}

function query(params: [string, unknown][]): string {
  const search = new URLSearchParams();
  for (const [name, value] of params) for (const v of ([] as unknown[]).concat(value)) search.append(name, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}

describe('the OpenAPI document against the server', () => {
  let pipeline: Pipeline;
  let app: Hono;
  let doc: { paths: Record<string, Record<string, Operation>>; components: Schema; servers: unknown[] };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  const checked: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-'));
    const file = join(dir, 'contract.yaml');
    writeFileSync(file, MANIFEST);
    const catalog = createCatalog();
    pipeline = new Pipeline(await loadManifest(file, catalog, {}), catalog, {
      once: true,
      stateDir: dir,
      logger: new MemoryLogger(),
    });
    await pipeline.start();
    await pipeline.run();
    app = await createServer(pipeline, corePages);
    mountCoreAssets(app);
    doc = await (await app.request('/api/openapi.json')).json();
  }, 120_000);
  afterAll(() => pipeline?.stop());

  /** Calls one operation and checks the answer against the document; returns the status. */
  const call = async (
    method: string,
    path: string,
    operation: Operation,
    headers: Record<string, string> = {},
    init: RequestInit = {},
  ) => {
    const response = await app.request(path, { method: method.toUpperCase(), headers, ...init });
    const status = String(response.status);
    const documented = operation.responses[status];
    expect(
      documented,
      `${method.toUpperCase()} ${path} answered ${status}, not in the document (${Object.keys(operation.responses).join(', ')})`,
    ).toBeDefined();
    const type = (response.headers.get('content-type') ?? '').split(';')[0];
    if (response.status === 304 || response.status === 302) return response.status;
    if (type === 'text/event-stream') {
      await response.body?.cancel();
      expect(documented.content?.[type], `${path}: ${type} is not documented`).toBeDefined();
      return response.status;
    }
    const body = await response.arrayBuffer();
    if (documented.content)
      expect(Object.keys(documented.content), `${method.toUpperCase()} ${path} (${status}) answered ${type}`).toContain(
        type,
      );
    const schema = documented.content?.[type]?.schema;
    if (type === 'application/json' && schema) {
      const validate = ajv.compile(schema);
      const json = JSON.parse(new TextDecoder().decode(body));
      expect(
        validate(json),
        `${method.toUpperCase()} ${path} (${status}): ${ajv.errorsText(validate.errors)}\n${JSON.stringify(json).slice(0, 600)}`,
      ).toBe(true);
    }
    checked.push(`${method.toUpperCase()} ${path} → ${status}`);
    return response.status;
  };

  it('declares servers, security schemes and error bodies; a 500 is an error, never rows', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearerToken', 'tokenCookie']);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          // 503 of /readyz and /health is a status document (what is down), not an error.
          if (Number(status) >= 400 && status !== '503' && response.content?.['application/json']) {
            expect(response.content['application/json'].schema!.required, `${method} ${path} ${status}`).toContain(
              'error',
            );
          }
        }
      }
    }
    // Parquet is offered only where DuckDB writes it.
    const formats = (path: string) => doc.paths[path].get.parameters!.find((p) => p.name === 'format')!.schema.enum;
    expect(formats('/api/views/dash/by_country')).toEqual(['json', 'csv', 'parquet']);
    expect(formats('/api/views/open/days')).toEqual(['json', 'csv']);
    expect(doc.paths['/api/views/dash/trend'].get.parameters!.map((p) => p.name)).toContain('days');
  });

  it('answers every operation, with generated valid and invalid parameters, as documented', async () => {
    const pick = random(42);
    let operations = 0;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        operations++;
        const params = operation.parameters ?? [];
        const pathParams = params.filter((p) => p.in === 'path');
        const queryParams = params.filter((p) => p.in === 'query');
        const paths = pathParams.length
          ? (pathParams[0].schema.enum?.map((v: string) =>
              template.replace(`{${pathParams[0].name}}`, encodeURIComponent(v)),
            ) ?? [template.replace(`{${pathParams[0].name}}`, pathParams[0].name === 'file' ? 'app.js' : 'nope')])
          : [template];
        // A path parameter outside its values (an unknown step, filter or asset): a documented refusal.
        if (pathParams.length)
          await call(method, template.replace(`{${pathParams[0].name}}`, 'no-such-thing'), operation);
        if (method === 'post') {
          // Uploads: no token, a wrong one, no file.
          for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Bearer up-secret' }] as Record<
            string,
            string
          >[])
            await call(method, paths[0], operation, headers, { body: new FormData() });
          continue;
        }
        for (const path of paths) {
          await call(method, path, operation);
          // Each parameter alone, with each value it allows…
          for (const param of queryParams) {
            for (const value of validValues(param.schema, pick)) {
              const status = await call(method, `${path}${query([[param.name, value]])}`, operation);
              if (param.schema.enum?.includes('parquet') && value === 'parquet')
                expect(status, `${path} format=parquet is offered, so never refused`).not.toBe(400);
            }
          }
          // … all of them at once, drawn at random…
          for (let round = 0; round < 3 && queryParams.length; round++) {
            const values = queryParams.map((p) => {
              const options = validValues(p.schema, pick);
              return [p.name, options[Math.floor(pick() * options.length)]] as [string, unknown];
            });
            await call(method, `${path}${query(values)}`, operation);
          }
          // … and each value it does not allow, and a parameter it does not know.
          for (const param of queryParams) {
            for (const value of invalidValues(param.schema)) {
              const status = await call(method, `${path}${query([[param.name, value]])}`, operation);
              if (path.startsWith('/api/views/')) expect(status, `${path}?${param.name}=${String(value)}`).toBe(400);
            }
          }
          if (path.startsWith('/api/views/') && queryParams.length)
            expect(await call(method, `${path}?bogus=1`, operation), `${path}?bogus=1`).toBe(400);
        }
      }
    }
    expect(operations).toBeGreaterThan(20);
    expect(checked.length).toBeGreaterThan(300);
    // Every status a test of this kind can reach was reached somewhere: errors included.
    const statuses = new Set(checked.map((c) => c.split('→ ')[1]));
    for (const status of ['200', '400', '401', '404', '500']) expect(statuses).toContain(status);
  }, 180_000);
});

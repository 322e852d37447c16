import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginCatalog } from '../sdk/container.ts';
import { builtinConnectionModules } from '../../connections/index.ts';
import { injectable, pluginModule } from '../sdk/index.ts';
import { loadManifest, ManifestError } from './index.ts';

@injectable()
class Noop {}

const modules = [
  pluginModule(
    {
      kind: 'source',
      name: 'numbers',
      summary: '',
      stability: 'stable',
      config: {
        type: 'object',
        additionalProperties: false,
        properties: { count: { type: 'integer', minimum: 1, default: 3 } },
      },
    },
    Noop,
  ),
  pluginModule({ kind: 'transform', name: 'pass', summary: '', stability: 'stable', config: { type: 'object' } }, Noop),
  pluginModule(
    {
      kind: 'sink',
      name: 'table',
      summary: '',
      stability: 'stable',
      connectionTypes: ['duckdb'],
      connectionRequired: true,
      config: {
        type: 'object',
        additionalProperties: false,
        required: ['table'],
        properties: { table: { type: 'string' }, mode: { enum: ['append', 'upsert'], default: 'append' } },
      },
    },
    Noop,
  ),
];

const dir = mkdtempSync(join(tmpdir(), 'manifest-test-'));
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function issues(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const file = write('m.yaml', text);
  try {
    await loadManifest(file, new PluginCatalog([...builtinConnectionModules, ...modules]), env);
  } catch (error) {
    if (error instanceof ManifestError)
      return error.issues.map((i) => `${i.line}:${i.col} ${i.path ? i.path + ': ' : ''}${i.message}`);
    throw error;
  }
  return [];
}

const GOOD = `name: demo
connections:
  wh: { type: duckdb, path: "\${WH_PATH:-:memory:}" }
sources:
  nums:
    use: numbers
    with: { count: "\${COUNT:-5}" }
transforms:
  same:
    use: pass
    from: nums
sinks:
  out:
    use: table
    from: same
    connection: wh
    with: { table: t }
`;

describe('manifest loading', () => {
  it('accepts a valid manifest, interpolates variables with defaults and applies config defaults', async () => {
    const file = write('good.yaml', GOOD);
    const manifest = await loadManifest(file, new PluginCatalog([...builtinConnectionModules, ...modules]), {
      COUNT: '7',
    });
    expect(manifest.steps.map((s) => [s.id, s.kind, s.from])).toEqual([
      ['nums', 'source', []],
      ['same', 'transform', ['nums']],
      ['out', 'sink', ['same']],
    ]);
    expect(manifest.steps[0].config).toEqual({ count: 7 });
    expect(manifest.steps[2].config).toEqual({ table: 't', mode: 'append' });
    expect(manifest.connections).toEqual([
      { name: 'wh', type: 'duckdb', config: { path: ':memory:', init: [] }, line: 3 },
    ]);
    expect(manifest.steps[2].line).toBe(13);
  });

  it('names an unset variable without default and its line', async () => {
    expect(await issues(GOOD.replace('${COUNT:-5}', '${COUNT}'))).toEqual([
      '7:20 environment variable COUNT is not set and has no default (write ${COUNT:-value} to give one)',
    ]);
  });

  it('reports malformed YAML with line and column', async () => {
    const found = await issues('name: demo\nsources:\n  a: [unclosed\n');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^\d+:\d+ YAML syntax: /);
  });

  it('reports a key written twice in one mapping at the second one (merge keys may repeat)', async () => {
    expect(await issues(GOOD.replace('    use: pass\n', '    use: pass\n    use: pass\n'))).toEqual([
      '11:5 YAML syntax: duplicate key "use" (map keys must be unique)',
    ]);
    const merged = await issues('name: demo\nx-a: &a { count: 1 }\nx-b: &b { x: 2 }\nx-c:\n  <<: *a\n  <<: *b\n');
    expect(merged).toEqual([]);
  });

  it('reports an unknown plugin with the known ones', async () => {
    expect(await issues(GOOD.replace('use: pass', 'use: passs'))).toEqual([
      '10:10 transforms.same.use: unknown transform plugin "passs" (known transforms: pass; add its npm package under plugins:)',
    ]);
  });

  it('reports a bad config value at the value', async () => {
    expect(await issues(GOOD.replace('${COUNT:-5}', '0'))).toEqual(['7:20 sources.nums.with.count: must be >= 1']);
    expect(await issues(GOOD.replace('{ table: t }', '{ table: t, colour: red }'))).toEqual([
      '17:31 sinks.out.with.colour: unknown property "colour"',
    ]);
    expect(await issues(GOOD.replace('{ table: t }', '{ mode: merge }'))).toEqual([
      '17:5 sinks.out.with: missing required property "table"',
      '17:19 sinks.out.with.mode: must be one of "append", "upsert"',
    ]);
  });

  it('reports unknown properties of a step and the manifest', async () => {
    expect(await issues(GOOD.replace('    from: nums', '    form: nums'))).toEqual([
      '11:11 transforms.same.form: unknown property "form"',
    ]);
  });

  it('checks the graph: unknown input, sink without input, wrong kinds, cycles', async () => {
    expect(await issues(GOOD.replace('from: nums', 'from: numz'))).toEqual([
      '11:11 transforms.same.from: unknown step "numz" (steps: nums, same, out)',
    ]);
    expect(await issues(GOOD.replace('    from: same\n', ''))).toEqual([
      '13:3 sinks.out: a sink needs from: (the step(s) it reads)',
    ]);
    const cyclic = GOOD.replace('    from: nums', '    from: [nums, other]') + 'transforms:\n';
    expect(await issues(cyclic)).toHaveLength(1); // duplicate key "transforms" is a YAML error
    const cycle = GOOD.replace(
      '  same:\n    use: pass\n    from: nums\n',
      '  same:\n    use: pass\n    from: [nums, other]\n  other:\n    use: pass\n    from: same\n',
    );
    expect(await issues(cycle)).toEqual(['11:5 transforms.same.from: cycle: same → other → same']);
    const sinkFeeds = GOOD.replace('    from: nums', '    from: out');
    expect(await issues(sinkFeeds)).toEqual([
      '11:11 transforms.same.from: a transform cannot read from sink "out": only sources and transforms produce records',
    ]);
  });

  it('checks connections: declared, of a type the plugin takes, required', async () => {
    expect(await issues(GOOD.replace('connection: wh', 'connection: nope'))).toEqual([
      '16:17 sinks.out.connection: connection "nope" is not declared under connections',
    ]);
    expect(await issues(GOOD.replace('    connection: wh\n', ''))).toEqual([
      '13:3 sinks.out: plugin table needs a connection: (of type duckdb)',
    ]);
    expect(await issues(GOOD.replace('type: duckdb', 'type: oracle'))).toEqual([
      `3:15 connections.wh.type: unknown connection type "oracle" (known: ${new PluginCatalog(builtinConnectionModules).connectionTypes().size ? [...new PluginCatalog(builtinConnectionModules).connectionTypes().keys()].join(', ') : ''})`,
    ]);
  });

  it('switches off a disabled step and everything only it feeds', async () => {
    const file = write(
      'disabled.yaml',
      GOOD.replace('    use: numbers\n', '    use: numbers\n    enabled: ${SIMULATE:-true}\n'),
    );
    const manifest = await loadManifest(file, new PluginCatalog([...builtinConnectionModules, ...modules]), {
      SIMULATE: 'false',
    });
    expect(manifest.steps).toEqual([]);
    const on = await loadManifest(file, new PluginCatalog([...builtinConnectionModules, ...modules]), {});
    expect(on.steps.map((s) => s.id)).toEqual(['nums', 'same', 'out']);
    // A test of a step switched off cannot run: it is left out, not an error; a test of an unknown step still is one.
    const tested = write(
      'disabled-tested.yaml',
      `${GOOD.replace('    use: numbers\n', '    use: numbers\n    enabled: ${SIMULATE:-true}\n')}tests:\n  - { name: t, step: same, input: [] }\n`,
    );
    expect(
      (await loadManifest(tested, new PluginCatalog([...builtinConnectionModules, ...modules]), { SIMULATE: 'false' }))
        .tests,
    ).toEqual([]);
    expect(
      (await loadManifest(tested, new PluginCatalog([...builtinConnectionModules, ...modules]), {})).tests,
    ).toHaveLength(1);
    expect(await issues(`${GOOD}tests:\n  - { name: t, step: nope, input: [] }\n`)).toEqual([
      '19:22 tests.0.step: "nope" is not a transform step of this manifest',
    ]);
  });

  it('picks one of several sources by one variable: enabled { if, in }; a step fed by both keeps the enabled input; an unused connection is not opened', async () => {
    const text = `name: pick
connections:
  wh: { type: duckdb, path: ":memory:" }
  other: { type: duckdb, path: ":memory:" }
sources:
  a:
    use: numbers
    enabled: { if: "\${FROM:-a}", in: [a, both] }
  b:
    use: numbers
    enabled: { if: "\${FROM:-a}", in: [b, both] }
transforms:
  merged:
    use: pass
    from: [a, b]
sinks:
  out:
    use: table
    from: merged
    connection: wh
    with: { table: t }
  b-only:
    use: table
    from: b
    connection: other
    with: { table: t }
`;
    const file = write('pick.yaml', text);
    const load = (env: NodeJS.ProcessEnv) =>
      loadManifest(file, new PluginCatalog([...builtinConnectionModules, ...modules]), env);
    const byDefault = await load({});
    expect(byDefault.steps.map((s) => [s.id, s.from])).toEqual([
      ['a', []],
      ['merged', ['a']],
      ['out', ['merged']],
    ]);
    expect(byDefault.connections.map((c) => c.name)).toEqual(['wh']);
    const b = await load({ FROM: 'b' });
    expect(b.steps.map((s) => [s.id, s.from])).toEqual([
      ['b', []],
      ['merged', ['b']],
      ['out', ['merged']],
      ['b-only', ['b']],
    ]);
    expect(b.connections.map((c) => c.name)).toEqual(['wh', 'other']);
    expect((await load({ FROM: 'both' })).steps.find((s) => s.id === 'merged')!.from).toEqual(['a', 'b']);
    // A connection a step's config names (not its own connection:) is in use too.
    const nested = write(
      'nested.yaml',
      text.replace('    from: [a, b]\n', '    from: [a, b]\n    with: { notify: { connection: other } }\n'),
    );
    expect(
      (await loadManifest(nested, new PluginCatalog([...builtinConnectionModules, ...modules]), {})).connections.map(
        (c) => c.name,
      ),
    ).toEqual(['wh', 'other']);
    expect(await issues(text.replace('in: [a, both]', 'in: []'))).toEqual([
      '8:34 sources.a.enabled.in: must NOT have fewer than 1 items',
    ]);
  });

  it('validates schedules', async () => {
    const scheduled = GOOD.replace(
      '    use: numbers\n',
      '    use: numbers\n    schedule: { cron: "61 2 * * *", timezone: Asia/Kolkata }\n',
    );
    const found = await issues(scheduled);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^7:23 sources.nums.schedule.cron: invalid cron or time zone/);
    expect(
      await issues(GOOD.replace('    use: numbers\n', '    use: numbers\n    schedule: { every: 1 hour }\n')),
    ).toEqual(['7:24 sources.nums.schedule.every: "1 hour" is not a duration above 0, e.g. 500ms, 15s, 5m, 1h, 1d']);
  });

  it('rejects a time zone the scheduler does not know, and durations of 0 (a schedule that would never run)', async () => {
    expect(
      await issues(
        GOOD.replace(
          '    use: numbers\n',
          '    use: numbers\n    schedule: { cron: "0 2 * * *", timezone: Asia/Kolkatta }\n',
        ),
      ),
    ).toEqual([
      '7:46 sources.nums.schedule.timezone: "Asia/Kolkatta" is not an IANA time zone, e.g. UTC, Europe/Paris, Asia/Kolkata',
    ]);
    expect(
      await issues(GOOD.replace('    use: numbers\n', '    use: numbers\n    schedule: { every: "0s" }\n')),
    ).toEqual(['7:24 sources.nums.schedule.every: "0s" is not a duration above 0, e.g. 500ms, 15s, 5m, 1h, 1d']);
    expect(
      await issues(
        GOOD.replace('    use: numbers\n', '    use: numbers\n    policy: { batchTimeout: 0ms, backoff: 0.0s }\n'),
      ),
    ).toHaveLength(2);
    expect(
      await issues(
        GOOD.replace(
          '    use: numbers\n',
          '    use: numbers\n    schedule: { cron: "0 2 * * *", timezone: Asia/Kolkata }\n',
        ),
      ),
    ).toEqual([]);
  });

  it('names the variable behind a bad substituted value, and keeps a value that is no YAML scalar as text', async () => {
    const withPort = GOOD.replace('name: demo\n', 'name: demo\nserver:\n  port: ${DEMO_PORT:-8080}\n');
    expect(await issues(withPort, { DEMO_PORT: '[' })).toEqual([
      '3:9 server.port: must be integer (from DEMO_PORT="[")',
    ]);
    expect(await issues(withPort, { DEMO_PORT: '70000' })).toEqual([
      '3:9 server.port: must be <= 65535 (from DEMO_PORT="70000")',
    ]);
    expect(await issues(withPort, {})).toEqual([]);
    const withBrokers = GOOD.replace(
      'connections:\n',
      'connections:\n  bus: { type: kafka, brokers: "${DEMO_BROKERS:-embedded}" }\n',
    );
    expect(await issues(withBrokers, { DEMO_BROKERS: 'kafka:99999' })).toEqual([
      '3:32 connections.bus.brokers: "kafka:99999" is not host:port[,host:port…] with ports 1–65535, or "embedded" (from DEMO_BROKERS="kafka:99999")',
    ]);
    expect(await issues(withBrokers, { DEMO_BROKERS: 'a:9092, b:9093' })).toEqual([]);
    // A default may itself refer to a variable; ${STATE_DIR} is the runtime's and stays for it to fill in.
    const nested = GOOD.replace('"${WH_PATH:-:memory:}"', '"${WH_PATH:-${WH_DIR:-${STATE_DIR}}/wh.duckdb}"');
    const file = write('nested.yaml', nested);
    const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
    expect((await loadManifest(file, catalog, { STATE_DIR: '/ignored' })).connections[0].config.path).toBe(
      '${STATE_DIR}/wh.duckdb',
    );
    expect((await loadManifest(file, catalog, { WH_DIR: '/data' })).connections[0].config.path).toBe('/data/wh.duckdb');
    expect((await loadManifest(file, catalog, { WH_PATH: '/x.duckdb' })).connections[0].config.path).toBe('/x.duckdb');
  });
});

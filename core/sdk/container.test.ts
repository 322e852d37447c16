import { describe, expect, it } from 'vitest';
import {
  inject,
  injectable,
  lazyPluginModule,
  pluginModule,
  TOKENS,
  type Logger,
  type SqlClient,
  type Connections,
  type Transform,
  type Row,
} from './index.ts';
import { createTestStep } from './testing.ts';
import { PluginCatalog } from './container.ts';
import duckdb from '../../connections/duckdb/index.ts';

@injectable()
class Upper implements Transform {
  constructor(
    @inject(TOKENS.Config) private readonly config: { field: string; suffix: string },
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}
  async process(records: Row[]) {
    const db = await this.connections.get<SqlClient>('db', 'duckdb');
    const [{ n }] = await db.query<{ n: number }>('SELECT $1::INTEGER + 1 AS n', [41]);
    this.logger.info('processed', { n });
    return records.map((r) => ({
      ...r,
      [this.config.field]: String(r[this.config.field]).toUpperCase() + this.config.suffix + n,
    }));
  }
}

const module = pluginModule(
  {
    kind: 'transform',
    name: 'upper',
    summary: 'test',
    stability: 'experimental',
    config: {
      type: 'object',
      required: ['field'],
      additionalProperties: false,
      properties: { field: { type: 'string' }, suffix: { type: 'string', default: '!' } },
    },
  },
  Upper,
);

describe('step construction through the container', () => {
  it('injects validated config with defaults, a step logger and connections', async () => {
    const step = await createTestStep<Upper>(
      module,
      'transform',
      { field: 'name' },
      { connections: { db: { type: 'duckdb', path: ':memory:' } }, connectionTypes: [duckdb] },
    );
    const out = await step.plugin.process([{ name: 'ada' }]);
    expect(out).toEqual([{ name: 'ADA!42' }]);
    expect(step.logs.some((l) => l.includes('[upper] processed') && l.includes('n=42'))).toBe(true);
    await step.close();
  });

  it('names the connection module it needs when a connection type was not given', async () => {
    await expect(
      createTestStep(
        module,
        'transform',
        { field: 'name' },
        { connections: { db: { type: 'duckdb', path: ':memory:' } } },
      ),
    ).rejects.toThrow('connection "db" is of type duckdb: pass its module in connectionTypes (given: none)');
  });

  it('rejects a bad config with the field named', async () => {
    await expect(createTestStep(module, 'transform', { field: 'x', colour: 'red' })).rejects.toThrow(
      'upper.with.colour: unknown property "colour"',
    );
    await expect(createTestStep(module, 'transform', {})).rejects.toThrow('missing required property "field"');
  });
});

describe('plugins contributed by name (lazyPluginModule)', () => {
  it('are listed by name, imported once on first require, and found only then', async () => {
    let imports = 0;
    const catalog = new PluginCatalog([
      lazyPluginModule('transform', 'upper', async () => {
        imports++;
        return { default: module };
      }),
    ]);
    expect(catalog.names('transform')).toEqual(['upper']);
    expect(catalog.find('transform', 'upper')).toBeUndefined();
    expect(imports).toBe(0);
    await catalog.require('sink', 'upper'); // another kind: nothing to import
    expect(imports).toBe(0);
    await Promise.all([catalog.require('transform', 'upper'), catalog.require('transform', 'upper')]);
    expect(imports).toBe(1);
    expect(catalog.find('transform', 'upper')?.spec.summary).toBe('test');
    await catalog.requireAll();
    expect(imports).toBe(1);
    expect(catalog.plugins()).toHaveLength(1);
  });

  it('a module that does not contribute the plugin it was named for is an error naming it', async () => {
    const catalog = new PluginCatalog([lazyPluginModule('transform', 'lower', async () => ({ default: module }))]);
    await expect(catalog.require('transform', 'lower')).rejects.toThrow(
      'plugin transform/lower: its module contributes no transform of that name',
    );
  });

  it("a plugin package may not take a built-in's name (imported or not) nor another package's", async () => {
    const builtin = () =>
      new PluginCatalog([lazyPluginModule('transform', 'upper', async () => ({ default: module }))]);
    const clash = 'the transform "upper" is contributed twice (a built-in plugin or another package has that name)';
    expect(() => builtin().load([module])).toThrow(clash);
    const imported = builtin();
    await imported.require('transform', 'upper');
    expect(() => imported.load([module])).toThrow(clash);
    const packages = new PluginCatalog([]);
    packages.load([module]);
    expect(() => packages.load([module])).toThrow(clash);
    const other = builtin();
    await other.require('transform', 'upper');
    other.load([]); // loading a package that contributes other names is fine with an imported built-in
    expect(other.plugins()).toHaveLength(1);
  });
});

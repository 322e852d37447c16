import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PluginKind } from '../../core/sdk/types.ts';

const KINDS: PluginKind[] = ['source', 'transform', 'sink', 'view'];

const BODIES: Record<PluginKind, { iface: string; imports: string; body: string }> = {
  source: {
    iface: 'Source',
    imports: 'type Batch, type SourceRun',
    body: `  async *read(run: SourceRun): AsyncIterable<Batch> {
    // Yield batches; put a resumable position in \`checkpoint\` (run.checkpoint holds the last committed one).
    const from = (run.checkpoint as number | undefined) ?? 0;
    yield { records: [{ n: from + 1, greeting: this.config.greeting }], checkpoint: from + 1 };
  }`,
  },
  transform: {
    iface: 'Transform',
    imports: 'type Row, type TransformContext',
    body: `  process(records: Row[], ctx: TransformContext): Row[] {
    // Return output rows; send a bad record to dead-letter with ctx.reject(record, reasons).
    return records.map((r) => ({ ...r, greeting: this.config.greeting }));
  }`,
  },
  sink: {
    iface: 'Sink',
    imports: 'type Row',
    body: `  readonly written: Row[] = [];

  async write(records: Row[]): Promise<void> {
    // Resolve only once the records are durable; throw on transient errors (the runtime retries).
    this.written.push(...records.map((r) => ({ ...r, greeting: this.config.greeting })));
  }`,
  },
  view: {
    iface: 'View',
    imports: 'type ViewMount',
    body: `  mount({ pages, api }: ViewMount): void {
    pages.get('/', (c) => c.text(this.config.greeting));
    api.get('/greeting', (c) => c.json({ greeting: this.config.greeting }));
  }`,
  },
};

const TESTS: Record<PluginKind, string> = {
  source: `const { records, checkpoint } = await readAll(step.plugin);
    expect(records).toEqual([{ n: 1, greeting: 'hello' }]);
    expect(checkpoint).toBe(1);`,
  transform: `expect(step.plugin.process([{ id: 1 }], step.context())).toEqual([{ id: 1, greeting: 'hello' }]);`,
  sink: `await step.plugin.write([{ id: 1 }]);
    expect(step.plugin.written).toEqual([{ id: 1, greeting: 'hello' }]);`,
  view: `const { Hono } = await import('hono');
    const pages = new Hono();
    const api = new Hono();
    step.plugin.mount({ pages, api, root: new Hono(), paths: { pages: '/views/x', api: '/api/views/x' } });
    expect(await (await api.request('/greeting')).json()).toEqual({ greeting: 'hello' });`,
};

/** `platform new plugin <kind> <name>`: a package like examples/plugin-uppercase, with a passing test. */
export async function newPluginCommand(kind: string, name: string, dir?: string): Promise<number> {
  if (!KINDS.includes(kind as PluginKind)) {
    process.stderr.write(`kind must be one of ${KINDS.join(', ')} (got "${kind}")\n`);
    return 2;
  }
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    process.stderr.write(`name must be lower-case letters, digits and dashes, starting with a letter (got "${name}")\n`);
    return 2;
  }
  const root = resolve(dir ?? '.', `platform-plugin-${name}`);
  if (existsSync(root)) {
    process.stderr.write(`${root} already exists\n`);
    return 2;
  }
  const k = kind as PluginKind;
  const className = name.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
  const { iface, imports, body } = BODIES[k];
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(join(root, 'test'), { recursive: true });
  // Published plugins are JavaScript, like every npm package: `npm run build` compiles src/ (decorators included) to dist/.
  writeFileSync(join(root, 'package.json'), JSON.stringify({
    name: `platform-plugin-${name}`, version: '0.1.0', description: `${k} plugin "${name}" for the platform`, type: 'module', main: 'dist/index.js',
    files: ['dist'], keywords: ['platform-plugin'],
    scripts: { build: 'esbuild src/index.ts --outdir=dist --format=esm --platform=node --target=node20', test: 'vitest run', prepare: 'npm run build' },
    peerDependencies: { '@platform/sdk': '*' },
    devDependencies: { esbuild: '^0.28.0', vitest: '^4.1.0' },
  }, null, 2) + '\n');
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, experimentalDecorators: true,
      allowImportingTsExtensions: true, verbatimModuleSyntax: true, skipLibCheck: true,
    },
    include: ['src', 'test'],
  }, null, 2) + '\n');
  writeFileSync(join(root, 'src/index.ts'), `import { inject, injectable, pluginModule, TOKENS, type ${iface}, ${imports} } from '@platform/sdk';

export interface ${className}Config {
  greeting: string;
}

@injectable()
export class ${className} implements ${iface} {
  constructor(@inject(TOKENS.Config) private readonly config: ${className}Config) {}

${body}
}

export default pluginModule({
  kind: '${k}',
  name: '${name}',
  summary: 'Describe in one line what ${name} does.',
  stability: 'experimental',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      greeting: { type: 'string', default: 'hello', description: 'Replace with your own settings; each needs a description.' },
    },
  },
}, ${className});
`);
  writeFileSync(join(root, `test/${name}.test.ts`), `import { describe, expect, it } from 'vitest';
import { createTestStep${k === 'source' ? ', readAll' : ''} } from '@platform/sdk/testing';
import plugin, { type ${className} } from '../src/index.ts';

describe('${name}', () => {
  it('works with its default config', async () => {
    const step = await createTestStep<${className}>(plugin, '${k}', {});
    ${TESTS[k]}
  });
});
`);
  writeFileSync(join(root, 'README.md'), `# platform-plugin-${name}\n\nA ${k} plugin. Build it with \`npm run build\` (to dist/), test it with \`npm test\`, publish it to npm, then use it from a manifest:\n\n\`\`\`yaml\nplugins: [platform-plugin-${name}]\n${k}s:\n  my-step:\n    use: ${name}\n${k === 'source' ? '' : '    from: some-step\n'}    with:\n      greeting: hello\n\`\`\`\n\nTest it with \`npx vitest run\`.\n`);
  process.stdout.write(`created ${root}\n  src/index.ts   the plugin (spec + class + ContainerModule)\n  test/${name}.test.ts\nBuild with npm run build, publish, then list it under plugins: in a manifest.\n`);
  return 0;
}

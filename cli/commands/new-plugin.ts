import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../../core/paths.ts';
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

/**
 * Where a new package goes without --dir: the current folder, or — inside this repository, whose build, tests and
 * lint are not the package's — next to the repository (the parent of its root).
 */
export function defaultPluginDir(cwd = process.cwd(), root = repoRoot): string {
  const inside = !relative(root, cwd).startsWith('..') && !relative(root, cwd).startsWith('/');
  return inside ? dirname(root) : cwd;
}

/**
 * `platform new plugin <kind> <name>`: a standalone npm package (built with esbuild, tested with vitest) like
 * examples/plugin-uppercase, with a passing test. It depends on this repository's SDK through a file: link until
 * `@platform/sdk` is published; the SDK stays an optional peer, so `npm install <the package>` in a pipeline's
 * folder does not look for it in the registry.
 */
export async function newPluginCommand(kind: string, name: string, dir?: string): Promise<number> {
  if (!KINDS.includes(kind as PluginKind)) {
    process.stderr.write(`kind must be one of ${KINDS.join(', ')} (got "${kind}")\n`);
    return 2;
  }
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    process.stderr.write(
      `name must be lower-case letters, digits and dashes, starting with a letter (got "${name}")\n`,
    );
    return 2;
  }
  const root = resolve(dir ?? defaultPluginDir(), `platform-plugin-${name}`);
  if (existsSync(root)) {
    process.stderr.write(`${root} already exists\n`);
    return 2;
  }
  const k = kind as PluginKind;
  const className = name
    .split('-')
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
  const { iface, imports, body } = BODIES[k];
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(join(root, 'test'), { recursive: true });
  // Published plugins are JavaScript, like every npm package: `npm run build` compiles src/ (decorators included) to dist/.
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify(
      {
        name: `platform-plugin-${name}`,
        version: '0.1.0',
        description: `${k} plugin "${name}" for the platform`,
        type: 'module',
        main: 'dist/index.js',
        files: ['dist'],
        keywords: ['platform-plugin'],
        scripts: {
          build: 'esbuild src/index.ts --outdir=dist --format=esm --platform=node --target=node20',
          test: 'vitest run',
          prepare: 'npm run build',
        },
        peerDependencies: { '@platform/sdk': '*' },
        peerDependenciesMeta: { '@platform/sdk': { optional: true } },
        devDependencies: {
          '@platform/sdk': `file:${join(repoRoot, 'core/sdk')}`,
          esbuild: '^0.28.0',
          vitest: '^4.1.0',
        },
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          experimentalDecorators: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          skipLibCheck: true,
        },
        include: ['src', 'test'],
      },
      null,
      2,
    ) + '\n',
  );
  // Its own vitest config: the package's tests are found from its folder, never from an enclosing project's config.
  writeFileSync(
    join(root, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { include: ['test/**/*.test.ts'] } });\n`,
  );
  writeFileSync(join(root, '.gitignore'), 'node_modules/\ndist/\n');
  writeFileSync(
    join(root, 'src/index.ts'),
    `import { configSchema, inject, injectable, pluginModule, TOKENS, type ConfigOf, type ${iface}, ${imports} } from '@platform/sdk';

// The config's type is derived from its schema (a property with a default is always set): the two cannot drift.
const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  properties: {
    greeting: { type: 'string', default: 'hello', description: 'Replace with your own settings; each needs a description.' },
  },
});

export type ${className}Config = ConfigOf<typeof CONFIG>;

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
  config: CONFIG,
}, ${className});
`,
  );
  writeFileSync(
    join(root, `test/${name}.test.ts`),
    `import { describe, expect, it } from 'vitest';
import { createTestStep${k === 'source' ? ', readAll' : ''} } from '@platform/sdk/testing';
import plugin, { type ${className} } from '../src/index.ts';

describe('${name}', () => {
  it('works with its default config', async () => {
    const step = await createTestStep<${className}>(plugin, '${k}', {});
    ${TESTS[k]}
  });
});
`,
  );
  const use = `plugins: [platform-plugin-${name}]\n${k}s:\n  my-step:\n    use: ${name}\n${k === 'source' ? '' : '    from: some-step\n'}    with:\n      greeting: hello\n`;
  writeFileSync(
    join(root, 'README.md'),
    `# platform-plugin-${name}

A ${k} plugin for the platform.

\`\`\`sh
npm install      # its dependencies (the SDK is linked from the platform's repository), then builds dist/
npm test         # test/${name}.test.ts
npm run build    # after a change: src/ → dist/ (what a manifest loads)
\`\`\`

Use it from a manifest, by package name once installed where the manifest is (\`npm install <path to this folder>\`,
or from npm once published):

\`\`\`yaml
${use}\`\`\`

or by path, relative to the manifest: \`plugins: [./path/to/platform-plugin-${name}]\` (built: \`npm run build\`).
`,
  );
  process.stdout.write(`created ${root}
  src/index.ts          the plugin (spec + class + ContainerModule)
  test/${name}.test.ts
Next:
  cd ${root} && npm install && npm test
then, in the folder of your manifest: npm install ${root}
and list it as plugins: [platform-plugin-${name}] (or by its path relative to the manifest).
`);
  return 0;
}

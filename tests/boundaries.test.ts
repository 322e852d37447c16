// The import boundaries (CONTRIBUTING.md, "Boundaries") are checked by ESLint in the test command: each crossing
// below must be refused, each allowed import must pass (eslint.config.js, eslint-plugin-boundaries).
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './cli.ts';

const eslint = new ESLint({ cwd: repoRoot });

/** The boundary errors of `code` placed at `file` (a path in the repository). */
async function crossings(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}/${file}` });
  return result.messages.filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.message);
}

describe('import boundaries', () => {
  it.each([
    [
      'the SDK imports a connection type',
      'core/sdk/probe.ts',
      "import { DuckDbClient } from '../../connections/duckdb/index.ts';",
    ],
    ['the SDK imports the runtime', 'core/sdk/probe.ts', "import { StateStore } from '../runtime/state.ts';"],
    ['the SDK imports the repository test kit', 'core/sdk/probe.ts', "import { createTestStep } from '../testing.ts';"],
    [
      'a plugin imports the runtime',
      'plugins/sinks/console/probe.ts',
      "import { StateStore } from '../../../core/runtime/state.ts';",
    ],
    [
      'a plugin imports the manifest loader',
      'plugins/transforms/window/probe.ts',
      "import { loadManifest } from '../../../core/manifest/index.ts';",
    ],
    ['a plugin imports another plugin', 'plugins/sinks/parquet/probe.ts', "import csv from '../csv/index.ts';"],
    [
      "a plugin imports another kind's shared code",
      'plugins/sources/file/probe.ts',
      "import { fileSinkClass } from '../../sinks/shared/file-sink.ts';",
    ],
    [
      'a plugin imports the list of built-ins',
      'plugins/views/dashboard/probe.ts',
      "import { builtinPluginModules } from '../../builtin.ts';",
    ],
    [
      'a connection type imports another',
      'connections/kafka/probe.ts',
      "import { DuckDbClient } from '../duckdb/index.ts';",
    ],
    [
      'a connection type imports the runtime',
      'connections/postgres/probe.ts',
      "import { ConsoleLogger } from '../../core/runtime/deadletter.ts';",
    ],
    [
      'the file formats import a connection other than duckdb',
      'formats/probe.ts',
      "import type { TopicClient } from '../connections/kafka/index.ts';",
    ],
    ['core imports a plugin', 'core/runtime/probe.ts', "import csv from '../../plugins/sinks/csv/index.ts';"],
    ['core imports the file formats', 'core/server/probe.ts', "import { readRecords } from '../../formats/index.ts';"],
    [
      "a plugin's test imports the runtime",
      'plugins/sinks/csv/probe.test.ts',
      "import { StateStore } from '../../../core/runtime/state.ts';",
    ],
  ])('refuses: %s', async (_, file, code) => {
    const found = await crossings(file, `${code}\nexport const x = 1;\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('There is no policy allowing dependencies');
  });

  it.each([
    [
      "a plugin imports the SDK, a connection type, the file formats and its kind's shared code",
      'plugins/sinks/parquet/probe.ts',
      "import { pluginModule } from '../../../core/sdk/index.ts';\nimport { DuckDbClient } from '../../../connections/duckdb/index.ts';\nimport { writeRows } from '../../../formats/write.ts';\nimport { fileSinkClass } from '../shared/file-sink.ts';\nimport parquet from './index.ts';",
    ],
    [
      "a view imports the views' UI and shared code",
      'plugins/views/dashboard/probe.ts',
      "import { mountAssets } from '../shared/assets.ts';\nimport { Dashboard } from '../ui/app.tsx';",
    ],
    [
      'a connection type imports the SDK and its own folder',
      'connections/kafka/probe.ts',
      "import { connectionModule } from '../../core/sdk/index.ts';\nimport { EmbeddedTopicLog } from './embedded.ts';",
    ],
    [
      'the file formats import the duckdb connection',
      'formats/probe.ts',
      "import { DuckDbClient } from '../connections/duckdb/index.ts';",
    ],
    [
      'the runtime imports the SDK and the duckdb connection (its dead-letter index)',
      'core/runtime/probe.ts',
      "import { TOKENS } from '../sdk/index.ts';\nimport { sqlString } from '../../connections/duckdb/client.ts';",
    ],
    [
      "a plugin's test imports the repository test kit and another plugin",
      'plugins/sinks/postgres/probe.test.ts',
      "import { createTestStep } from '../../../core/testing.ts';\nimport source from '../../sources/postgres/index.ts';",
    ],
    [
      'the list of built-ins imports the plugins',
      'plugins/probe.ts',
      "import csv from './sinks/csv/index.ts';\nimport dashboard from './views/dashboard/index.ts';",
    ],
  ])('allows: %s', async (_, file, code) => {
    expect(await crossings(file, `${code}\nexport const x = 1;\n`)).toEqual([]);
  });
});

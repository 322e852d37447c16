// ESLint: typescript-eslint's recommended rules, and the import boundaries of CONTRIBUTING.md ("Boundaries"),
// checked by eslint-plugin-boundaries on every import, export … from and import() of the tree.
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Files that only tests run: they may also import the repository's test kit, tests/ helpers and other plugins. */
const TEST_FILES = [
  '**/*.test.ts',
  '**/*.test.tsx',
  '**/suite.ts',
  '**/testing.ts',
  'plugins/views/dashboard/demo.ts',
  'plugins/views/dashboard/fixtures.ts',
];

const to = (element, file) => ({ to: { element, ...(file ? { file } : {}) } });
const SAME = '{{ from.element.captured.%s }}';

/**
 * Who may import whom (issue 17; CONTRIBUTING.md "Boundaries"): the SDK nothing but itself; a connection type the
 * SDK and its own folder; shared file formats the SDK and the duckdb connection; a plugin the SDK, connection types,
 * formats, its own folder and its kind's shared folders (plugins/<kind>/shared, plugins/views/ui); core the SDK and,
 * for its dead-letter index, the duckdb connection. Tests may also use the repository's test kit and other plugins.
 */
const POLICIES = [
  { from: { element: { type: 'sdk' } }, allow: to({ type: 'sdk' }) },
  {
    from: { element: { type: 'connection' } },
    allow: [to({ type: 'sdk' }), to({ type: 'connection', captured: { name: SAME.replace('%s', 'name') } })],
  },
  { from: { element: { type: 'connections' } }, allow: [to({ type: 'sdk' }), to({ type: 'connection' })] },
  {
    from: { element: { type: 'formats' } },
    allow: [to({ type: 'sdk' }), to({ type: 'formats' }), to({ type: 'connection', captured: { name: 'duckdb' } })],
  },
  {
    from: { element: { type: 'plugin' } },
    allow: [
      to({ type: 'sdk' }),
      to({ type: 'connection' }),
      to({ type: 'formats' }),
      to({
        type: 'plugin',
        captured: { kind: SAME.replace('%s', 'kind'), name: [SAME.replace('%s', 'name'), 'shared', 'ui'] },
      }),
    ],
  },
  // The lists of built-ins: plugins/builtin.ts, plugins/views/index.ts, connections/index.ts.
  {
    from: { element: { type: 'plugins' } },
    allow: [to({ type: 'sdk' }), to({ type: 'plugin' }), to({ type: 'plugins' })],
  },
  {
    from: { element: { type: 'core' } },
    allow: [to({ type: 'core' }), to({ type: 'sdk' }), to({ type: 'connection', captured: { name: 'duckdb' } })],
  },
  // Tests: the repository's test kit (core/testing.ts: the SDK's kit with the built-in connection types), every
  // connection type and plugin (a sink's test reads back with the source of the same store); core's tests anything.
  {
    from: { file: { categories: 'test' } },
    allow: [
      to({ type: 'core' }, { path: 'core/testing.ts' }),
      to({ types: ['sdk', 'connection', 'connections', 'formats', 'plugin', 'plugins'] }),
    ],
  },
  { from: { element: { type: 'core' }, file: { categories: 'test' } }, allow: to({ type: '*' }) },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', '.platform/**', 'bench/peers/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { boundaries },
    settings: {
      'boundaries/include': ['core/**', 'connections/**', 'formats/**', 'plugins/**'],
      'boundaries/elements': [
        { type: 'sdk', pattern: 'core/sdk' },
        { type: 'core', pattern: 'core' },
        { type: 'connection', pattern: 'connections/*', capture: ['name'] },
        { type: 'connections', pattern: 'connections' },
        { type: 'formats', pattern: 'formats' },
        { type: 'plugin', pattern: 'plugins/*/*', capture: ['kind', 'name'] },
        { type: 'plugins', pattern: 'plugins/*' },
        { type: 'plugins', pattern: 'plugins' },
      ],
      'boundaries/files': [{ category: 'test', pattern: TEST_FILES }],
    },
    rules: {
      'boundaries/dependencies': [2, { default: 'disallow', policies: POLICIES }],
      // Prettier lays out the code (it breaks `x\n  [i]` chains, which this rule takes for a call across lines).
      'no-unexpected-multiline': 'off',
      // `_name` marks what is deliberately unused (a destructured field left out, an argument a signature requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          caughtErrors: 'none',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // Errors are wrapped on purpose with or without a cause: classifyError follows causes, so a cause is attached
      // where the classification must follow the original error, and left off where the wrapper decides it.
      'preserve-caught-error': 'off',
    },
  },
  // Tests read JSON answers at any depth.
  { files: TEST_FILES, rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);

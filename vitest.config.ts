import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'core/**/*.test.ts',
      'connections/**/*.test.ts',
      'formats/**/*.test.ts',
      'plugins/**/*.test.ts',
      'cli/**/*.test.ts',
      'pipelines/**/*.test.ts',
      'tests/**/*.test.ts',
      'bench/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Lists what the run leaves on the shared real servers (and fails on it under npm test): tests/leftovers.ts.
    // Each run's scratch folders live in a temporary folder of its own, removed at the end: tests/temp-root.ts.
    globalSetup: ['tests/leftovers.ts', 'tests/temp-root.ts'],
  },
});

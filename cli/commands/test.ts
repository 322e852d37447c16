import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../../core/manifest/index.ts';
import { Pipeline } from '../../core/runtime/pipeline.ts';
import type { Logger, Reject, Row } from '../../core/sdk/types.ts';
import { createCatalog } from '../catalog.ts';

/**
 * `platform test <manifest>`: runs each declared test's input through one transform step (with the manifest's
 * real plugins and connections, in a throwaway state folder) and compares output and rejects.
 */
export async function testCommand(file: string, logger: Logger, stateDir?: string): Promise<number> {
  const catalog = createCatalog();
  const manifest = await loadManifest(file, catalog);
  if (manifest.tests.length === 0) {
    process.stdout.write(`${file}: no tests declared\n`);
    return 0;
  }
  // Tests exercise transforms, not stored data: embedded connections live in a throwaway folder and DuckDB in memory.
  for (const connection of manifest.connections)
    if (connection.type === 'duckdb') connection.config = { ...connection.config, path: ':memory:' };
  const pipeline = new Pipeline(manifest, catalog, {
    once: true,
    stateDir: stateDir ?? mkdtempSync(join(tmpdir(), 'platform-test-')),
    logger,
  });
  await pipeline.start();
  let failed = 0;
  try {
    for (const test of manifest.tests) {
      // A test runs one transform, or a chain of them in order (e.g. [clean, validate]).
      let output: Row[] = test.input;
      const rejects: Reject[] = [];
      for (const step of ([] as string[]).concat(test.step)) {
        const result = await pipeline.runTransform(step, output);
        output = result.output;
        rejects.push(...result.rejects);
      }
      const problems: string[] = [];
      if (test.expect && !isDeepStrictEqual(output.map(plain), test.expect.map(plain))) {
        problems.push(`expected output ${JSON.stringify(test.expect)}\n      got ${JSON.stringify(output.map(plain))}`);
      }
      const expectedRejects = test.expectRejects ?? [];
      if (rejects.length !== expectedRejects.length)
        problems.push(
          `expected ${expectedRejects.length} reject(s), got ${rejects.length}: ${JSON.stringify(rejects.map((r) => r.reasons))}`,
        );
      expectedRejects.forEach((expected, i) => {
        for (const reason of expected.reasons ?? []) {
          if (!rejects[i]?.reasons.some((r) => r.includes(reason)))
            problems.push(
              `reject ${i + 1}: no reason contains "${reason}" (${JSON.stringify(rejects[i]?.reasons ?? [])})`,
            );
        }
      });
      if (problems.length) failed++;
      process.stdout.write(
        `${problems.length ? 'FAIL' : 'ok  '} ${test.name}${problems.length ? '\n    ' + problems.join('\n    ') : ''}\n`,
      );
    }
  } finally {
    await pipeline.stop();
  }
  process.stdout.write(`\n${manifest.tests.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

/** Compare as JSON: Dates as ISO strings, numbers as numbers. */
function plain(row: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

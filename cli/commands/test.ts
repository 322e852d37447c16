import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../../core/manifest/index.ts';
import { Pipeline } from '../../core/runtime/pipeline.ts';
import type { Logger, Row } from '../../core/sdk/types.ts';
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
  const pipeline = new Pipeline(manifest, catalog, { once: true, stateDir: stateDir ?? mkdtempSync(join(tmpdir(), 'platform-test-')), logger });
  await pipeline.start();
  let failed = 0;
  try {
    for (const test of manifest.tests) {
      const { output, rejects } = await pipeline.runTransform(test.step, test.input.map(revive));
      const problems: string[] = [];
      if (test.expect && !isDeepStrictEqual(output.map(plain), test.expect.map(plain))) {
        problems.push(`expected output ${JSON.stringify(test.expect)}\n      got ${JSON.stringify(output.map(plain))}`);
      }
      const expectedRejects = test.expectRejects ?? [];
      if (rejects.length !== expectedRejects.length) problems.push(`expected ${expectedRejects.length} reject(s), got ${rejects.length}: ${JSON.stringify(rejects.map((r) => r.reasons))}`);
      expectedRejects.forEach((expected, i) => {
        if (expected.reason && !rejects[i]?.reasons.some((r) => r.includes(expected.reason!))) problems.push(`reject ${i + 1}: no reason contains "${expected.reason}" (${JSON.stringify(rejects[i]?.reasons ?? [])})`);
      });
      if (problems.length) failed++;
      process.stdout.write(`${problems.length ? 'FAIL' : 'ok  '} ${test.name}${problems.length ? '\n    ' + problems.join('\n    ') : ''}\n`);
    }
  } finally {
    await pipeline.stop();
  }
  process.stdout.write(`\n${manifest.tests.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

/** ISO timestamps in test YAML become Dates, as sources produce them. */
function revive(row: Record<string, unknown>): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) ? new Date(v) : v]));
}

/** Compare as JSON: Dates as ISO strings, numbers as numbers. */
function plain(row: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

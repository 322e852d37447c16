// Runs a benchmark manifest in-process exactly as `platform run --once` does.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../core/manifest/index.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { createCatalog } from '../cli/catalog.ts';

export function workDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `bench-${name}-`));
}

export async function runManifest(yaml: string, dir: string): Promise<Pipeline> {
  const file = join(dir, `m-${Date.now()}.yaml`);
  writeFileSync(file, yaml);
  const catalog = createCatalog();
  const pipeline = new Pipeline(await loadManifest(file, catalog), catalog, {
    once: true,
    stateDir: join(dir, `state-${Date.now()}`),
    logger: new MemoryLogger(),
  });
  await pipeline.start();
  const { ok } = await pipeline.run();
  await pipeline.stop();
  if (!ok) throw new Error('benchmark pipeline failed');
  return pipeline;
}

// Runs a manifest given as YAML text once, as `platform run --once` does: for tests of how plugins and the runtime
// behave together (a plugin's data errors in dead-letter with their origin, its infrastructure errors retried).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../core/manifest/index.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import type { DeadLetterEntry } from '../core/sdk/index.ts';
import { createCatalog } from '../cli/catalog.ts';

export interface ManifestRun {
  pipeline: Pipeline;
  ok: boolean;
  logs: string[];
  /** Every dead letter, oldest first. */
  dead: DeadLetterEntry[];
  dir: string;
}

/** Writes `yaml` as a manifest in `dir` (state in `dir/state`), starts it, runs every source once. Stop it when done. */
export async function runManifest(yaml: string, dir = mkdtempSync(join(tmpdir(), 'manifest-'))): Promise<ManifestRun> {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  const catalog = createCatalog();
  const logs: string[] = [];
  const pipeline = new Pipeline(await loadManifest(file, catalog), catalog, {
    once: true,
    stateDir: join(dir, 'state'),
    logger: new MemoryLogger(logs),
  });
  await pipeline.start();
  const { ok } = await pipeline.run();
  const dead = (await pipeline.deadLetters.list({ limit: 10_000 })).entries.reverse();
  return { pipeline, ok, logs, dead, dir };
}

// Runs a shipped manifest in-process, as `platform run --once` does, with its own state folder and environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { loadManifest } from '../core/manifest/index.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { MemoryLogger } from '../core/runtime/logger.ts';
import { createServer } from '../core/server/app.ts';
import { createCatalog } from '../cli/catalog.ts';
import { repoRoot } from './cli.ts';

export interface PipelineRun {
  pipeline: Pipeline;
  stateDir: string;
  logs: string[];
  ok: boolean;
  app(): Promise<Hono>;
}

export function tempStateDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/**
 * Loads `pipelines/<name>.yaml` with `env` (added to process.env) and runs every source once, as
 * `platform run --once [--date D]` does (`options.date`: the backfill date given to date-parameterised sources). Stop it when done.
 */
export async function runOnce(name: string, env: Record<string, string>, stateDir = tempStateDir(name), options: { date?: string } = {}): Promise<PipelineRun> {
  const catalog = createCatalog();
  const manifest = await loadManifest(join(repoRoot, 'pipelines', `${name}.yaml`), catalog, { ...process.env, ...env });
  const logs: string[] = [];
  const pipeline = new Pipeline(manifest, catalog, { once: true, date: options.date, stateDir, logger: new MemoryLogger(logs) });
  await pipeline.start();
  const { ok } = await pipeline.run();
  return { pipeline, stateDir, logs, ok, app: () => createServer(pipeline) };
}

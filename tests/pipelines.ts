// Runs a shipped manifest in-process, as `platform run --once` does, with its own state folder and environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { loadManifest } from '../core/manifest/index.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { createServer } from '../core/server/app.ts';
import { createCatalog } from '../cli/catalog.ts';
import { expect } from 'vitest';
import { platform, repoRoot } from './cli.ts';

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
export async function runOnce(
  name: string,
  env: Record<string, string>,
  stateDir = tempStateDir(name),
  options: { date?: string } = {},
): Promise<PipelineRun> {
  const catalog = createCatalog();
  const manifest = await loadManifest(join(repoRoot, 'pipelines', `${name}.yaml`), catalog, { ...process.env, ...env });
  const logs: string[] = [];
  const pipeline = new Pipeline(manifest, catalog, {
    once: true,
    date: options.date,
    stateDir,
    logger: new MemoryLogger(logs),
  });
  await pipeline.start();
  const { ok } = await pipeline.run();
  return { pipeline, stateDir, logs, ok, app: () => createServer(pipeline) };
}

/** `platform validate` accepts `pipelines/<name>.yaml` and `platform test` passes every one of its own tests. */
export async function expectManifestChecksPass(name: string, env: Record<string, string> = {}): Promise<void> {
  const file = `pipelines/${name}.yaml`;
  const validated = await platform(['validate', file], { env });
  expect(validated.stdout, validated.stdout + validated.stderr).toContain(`${file}: ok`);
  expect(validated.code).toBe(0);
  const tested = await platform(['test', file], { env });
  expect(tested.stdout).toMatch(/\n(\d+) passed, 0 failed\n/);
  expect(tested.code).toBe(0);
}

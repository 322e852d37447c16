import { resolve } from 'node:path';
import { loadManifest } from '../../core/manifest/index.ts';
import { DeadLetterStore, scanDeadLetterFile } from '../../core/runtime/deadletter.ts';
import { Pipeline } from '../../core/runtime/pipeline.ts';
import { errorMessage, type DeadLetterEntry, type DeadLetterQuery, type Logger } from '../../core/sdk/index.ts';
import { createCatalog } from '../catalog.ts';

export interface DeadLetterOptions extends DeadLetterQuery {
  stateDir?: string;
  limit: number;
  json: boolean;
  logger: Logger;
}

/**
 * `platform dead-letter list|show|replay <manifest>`: the pipeline's dead letters, filtered by --step, --reason and
 * --since (and ids for show). list and show read the store (or, while the pipeline runs and holds its index, the
 * JSON lines themselves); replay builds the pipeline and sends the chosen records again through the step that
 * rejected them (the pipeline must not be running: its page's Replay button does the same while it runs).
 */
export async function deadLetterCommand(action: string, file: string, options: DeadLetterOptions): Promise<number> {
  const catalog = createCatalog();
  const manifest = await loadManifest(file, catalog);
  const query: DeadLetterQuery = {
    ...(options.steps ? { steps: options.steps } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
    ...(options.since ? { since: options.since } : {}),
    ...(options.ids ? { ids: options.ids } : {}),
  };
  if (action === 'replay') return replay(file, manifest, catalog, query, options);
  const stateDir = resolve(options.stateDir ?? process.env.PLATFORM_STATE_DIR ?? `.platform/${manifest.name}`);
  const { entries, total } = await read(stateDir, query, options);
  if (action === 'show' || options.json) {
    process.stdout.write(JSON.stringify(action === 'show' ? entries : { total, entries }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(
    table(entries) +
      `\n${entries.length} of ${total} dead letter(s) shown, newest first${total > entries.length ? ` (--limit ${options.limit})` : ''}\n`,
  );
  return 0;
}

async function read(
  stateDir: string,
  query: DeadLetterQuery,
  options: DeadLetterOptions,
): Promise<{ total: number; entries: DeadLetterEntry[] }> {
  const store = new DeadLetterStore(stateDir, { logger: options.logger });
  try {
    await store.ready;
    return await store.list({ ...query, limit: options.limit });
  } catch (error) {
    if (!/lock/i.test(errorMessage(error))) throw error;
    // The running pipeline holds the index: read the JSON lines themselves (slower, same answer).
    options.logger.info('the pipeline is running and holds the dead-letter index: reading its JSON lines instead');
    const matching: DeadLetterEntry[] = [];
    let total = 0;
    for await (const entry of scanDeadLetterFile(store.file, query)) {
      total++;
      matching.push(entry);
      if (matching.length > options.limit) matching.shift();
    }
    return { total, entries: matching.reverse() };
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function replay(
  file: string,
  manifest: Awaited<ReturnType<typeof loadManifest>>,
  catalog: ReturnType<typeof createCatalog>,
  query: DeadLetterQuery,
  options: DeadLetterOptions,
): Promise<number> {
  const pipeline = new Pipeline(manifest, catalog, { once: true, stateDir: options.stateDir, logger: options.logger });
  try {
    await pipeline.start();
  } catch (error) {
    if (/lock/i.test(errorMessage(error))) {
      throw new Error(
        `${errorMessage(error)}: while the pipeline runs, replay from its dead-letter page or with POST /api/dead-letter/replay`,
      );
    }
    throw error;
  }
  try {
    const result = await pipeline.replay(query);
    if (options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      process.stdout.write(
        `replayed ${result.selected} dead letter(s) of ${file}: ${result.landed} landed (left the store), ${result.rejectedAgain} rejected again (kept with the new reason), ${result.skipped.length} skipped\n`,
      );
      for (const skip of result.skipped) process.stdout.write(`  #${skip.id} ${skip.step}: ${skip.reason}\n`);
    }
    return 0;
  } finally {
    await pipeline.stop();
  }
}

function table(entries: DeadLetterEntry[]): string {
  const rows = entries.map((e) => [
    String(e.id),
    e.at.slice(0, 19).replace('T', ' '),
    e.step,
    e.origin ?? '',
    clip(e.reasons.join('; '), 100),
  ]);
  const header = ['id', 'stored (UTC)', 'step', 'origin', 'reasons'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

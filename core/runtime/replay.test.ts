// Re-driving dead letters once the manifest (or the data) is fixed: through the step that rejected them and on
// downstream; what lands leaves the store, what is rejected again stays once with the new reason; a replay killed
// half-way and run again leaves every record exactly once in an upserting sink.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../manifest/index.ts';
import { createCatalog } from '../../cli/catalog.ts';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from './pipeline.ts';

const bin = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url));

/** A manifest: JSON lines and CSV → validate (amount above `minimum`) → duckdb upsert by id. */
function manifest(dir: string, minimum: number, csvTypes = '{ amount: DOUBLE }', notNull = false): string {
  const file = join(dir, 'replay.yaml');
  writeFileSync(
    file,
    `name: replay
connections:
  warehouse:
    type: duckdb
    path: "${join(dir, 'warehouse.duckdb')}"
    init: ["CREATE TABLE IF NOT EXISTS sales (id BIGINT PRIMARY KEY, name VARCHAR${notNull ? ' NOT NULL' : ''}, amount DOUBLE)"]
sources:
  lines: { use: file, with: { path: "${join(dir, 'in', '*.jsonl')}" } }
  sheets: { use: file, with: { path: "${join(dir, 'in', '*.csv')}", csv: { types: ${csvTypes} } } }
transforms:
  checked:
    use: validate
    from: [lines, sheets]
    with: { schema: { type: object, required: [id, amount], properties: { amount: { type: number, exclusiveMinimum: ${minimum} } } } }
sinks:
  sales: { use: duckdb, from: checked, connection: warehouse, with: { table: sales, mode: upsert, key: [id] } }
`,
  );
  return file;
}

async function open(file: string, dir: string) {
  const catalog = createCatalog();
  const pipeline = new Pipeline(await loadManifest(file, catalog), catalog, {
    once: true,
    stateDir: join(dir, 'state'),
    logger: new MemoryLogger(),
  });
  await pipeline.start();
  return pipeline;
}

async function table(pipeline: Pipeline) {
  const db = await pipeline.connections.get<DuckDbClient>('warehouse', 'duckdb');
  return db.query('SELECT id, name, amount FROM sales ORDER BY id');
}

describe('replaying dead letters', () => {
  it('lands what the fixed manifest accepts, keeps what it still rejects once with the new reason, and replays nothing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'in'));
    writeFileSync(
      join(dir, 'in', 'a.jsonl'),
      [
        { id: 1, name: 'a', amount: 50 },
        { id: 2, name: 'b', amount: 5 },
        { id: 3, name: 'c', amount: -1 },
        { id: 4, name: 'd', amount: 7 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    // Some codes have letters, but the manifest says INTEGER: the source rejects those lines.
    writeFileSync(join(dir, 'in', 'b.csv'), 'id,name,amount,code\n10,x,3,7\n11,y,2.5,A7\n12,z,4.5,B8\n');

    // A first run with a rule too strict (amount > 10) and a CSV type too narrow.
    const strict = await open(manifest(dir, 10, '{ code: INTEGER }'), dir);
    expect((await strict.run()).ok).toBe(true);
    expect((await table(strict)).map((r) => r.id)).toEqual([1]);
    const before = (await strict.deadLetters.list({})).entries;
    expect(before.map((e) => `${e.step} ${e.origin?.replace(dir, '')}`).sort()).toEqual([
      'checked /in/a.jsonl:2',
      'checked /in/a.jsonl:3',
      'checked /in/a.jsonl:4',
      'checked /in/b.csv:2',
      'sheets /in/b.csv:3',
      'sheets /in/b.csv:4',
    ]);
    expect(before).toHaveLength(6);
    await strict.stop();

    // The manifest is fixed (amount > 0, amount DOUBLE): replay the validation rejects, then the CSV lines.
    const fixed = await open(manifest(dir, 0, '{ code: VARCHAR }'), dir);
    expect(await fixed.replay({ steps: ['checked'] })).toEqual({
      selected: 4,
      landed: 3,
      rejectedAgain: 1,
      skipped: [],
    });
    expect(await fixed.replay({ steps: ['sheets'] })).toEqual({
      selected: 2,
      landed: 2,
      rejectedAgain: 0,
      skipped: [],
    });
    expect(await table(fixed)).toEqual([
      { id: 1, name: 'a', amount: 50 },
      { id: 2, name: 'b', amount: 5 },
      { id: 4, name: 'd', amount: 7 },
      { id: 10, name: 'x', amount: 3 },
      { id: 11, name: 'y', amount: 2.5 },
      { id: 12, name: 'z', amount: 4.5 },
    ]);
    // Only the record the fixed rule still refuses is left: once, with the new reason and its origin.
    const left = (await fixed.deadLetters.list({})).entries;
    expect(left).toMatchObject([
      {
        step: 'checked',
        record: { id: 3, amount: -1 },
        reasons: ['amount: must be > 0'],
        origin: `${join(dir, 'in', 'a.jsonl')}:3`,
      },
    ]);
    expect(fixed.stats().find((s) => s.id === 'checked')!.rejected).toBe(1);
    // Replaying it again changes nothing: rejected for the same reason, kept as it is.
    expect(await fixed.replay({})).toEqual({ selected: 1, landed: 0, rejectedAgain: 1, skipped: [] });
    expect((await fixed.deadLetters.list({})).entries.map((e) => e.id)).toEqual([left[0].id]);
    await fixed.stop();
  });

  it('replays what a sink refused once its table is fixed, choosing entries by reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'in'));
    writeFileSync(
      join(dir, 'in', 'a.jsonl'),
      [
        { id: 1, name: 'a', amount: 1 },
        { id: 2, amount: 2 },
        { id: 3, name: 'c', amount: 3 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const first = await open(manifest(dir, 0, '{ amount: DOUBLE }', true), dir);
    expect((await first.run()).ok).toBe(true);
    expect((await first.deadLetters.list({})).entries).toMatchObject([
      { step: 'sales', record: { id: 2 }, reasons: ['name: must not be null'] },
    ]);
    const db = await first.connections.get<DuckDbClient>('warehouse', 'duckdb');
    await db.exec('ALTER TABLE sales ALTER COLUMN name DROP NOT NULL');
    expect(await first.replay({ reason: 'NOT BE NULL' })).toEqual({
      selected: 1,
      landed: 1,
      rejectedAgain: 0,
      skipped: [],
    });
    expect((await table(first)).map((r) => r.id)).toEqual([1, 2, 3]);
    expect(first.deadLetters.count()).toBe(0);
    await first.stop();
  });

  it('writes every record exactly once into an upserting sink when a replay is killed half-way and run again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-kill-'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'in'));
    const count = 6000;
    // Every record is refused by the first rule; 3 of them are still refused by the fixed one.
    writeFileSync(
      join(dir, 'in', 'a.jsonl'),
      Array.from({ length: count }, (_, i) =>
        JSON.stringify({ id: i, name: `n${i}`, amount: i % 2000 === 0 ? -i - 1 : i + 1 }),
      ).join('\n') + '\n',
    );
    const strict = await open(manifest(dir, 1_000_000), dir);
    expect((await strict.run()).ok).toBe(true);
    expect(strict.deadLetters.count(['checked'])).toBe(count);
    await strict.stop();

    const fixed = manifest(dir, 0);
    const args = [bin, 'dead-letter', 'replay', fixed, '--state-dir', join(dir, 'state')];
    // Kill the replay as soon as its first chunk has left the store (entries go 500 at a time).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const store = join(dir, 'state', 'dead-letter.jsonl');
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const text = existsSync(store) ? readFileSync(store, 'utf8') : '';
        if (text.includes('"deleted"')) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve((text.match(/"deleted"/g) ?? []).length);
        }
      }, 2);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error(`the replay ended before it could be killed:\n${output}`));
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(killedAt).toBeGreaterThanOrEqual(1);

    // Half done: some entries have left the store, most have not.
    const half = await open(fixed, dir);
    const leftAfterKill = half.deadLetters.count(['checked']);
    expect(leftAfterKill).toBeGreaterThan(3);
    expect(leftAfterKill).toBeLessThan(count);
    await half.stop();

    const again = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const rerun = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      rerun.stdout.on('data', (d) => (text += d));
      rerun.stderr.on('data', (d) => (text += d));
      rerun.on('close', (code) => resolve({ code, text }));
    });
    expect(again.code, again.text).toBe(0);
    expect(again.text).toMatch(
      new RegExp(
        `replayed ${leftAfterKill} dead letter\\(s\\) of .*: ${leftAfterKill - 3} landed \\(left the store\\), 3 rejected again`,
      ),
    );

    const db = await DuckDbClient.open(join(dir, 'warehouse.duckdb'));
    const [summary] = await db.query(
      'SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount) AS total FROM sales',
    );
    const landed = Array.from({ length: count }, (_, i) => i).filter((i) => i % 2000 !== 0);
    expect(summary).toEqual({ n: landed.length, ids: landed.length, total: landed.reduce((sum, i) => sum + i + 1, 0) });
    db.close();
    const final = await open(fixed, dir);
    const left = (await final.deadLetters.list({})).entries;
    expect(left.map((e) => (e.record as { id: number }).id).sort((a, b) => a - b)).toEqual([0, 2000, 4000]);
    expect(left.every((e) => e.reasons[0] === 'amount: must be > 0')).toBe(true);
    await final.stop();
  }, 120_000);
});

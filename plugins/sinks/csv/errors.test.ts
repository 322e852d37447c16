// The csv sink's two error classes: a record that cannot be written (nested 10,000 deep) goes to dead-letter alone
// while the batch is written; a path that cannot be written to is infrastructure.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, writeLikeRuntime } from '../../../core/testing.ts';
import plugin, { type FileSink } from './index.ts';

describe('csv sink errors', () => {
  it('data: rejects a record nested too deeply to write; writes the others in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-errors-'));
    const step = await createTestStep<FileSink>(plugin, 'sink', { path: join(dir, 'out.csv'), mode: 'append' });
    const deep = { id: 2, note: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const rejects = await writeLikeRuntime(step.plugin, [
      { id: 1, note: 'a' },
      deep,
      { id: 3, note: 'c' },
      { id: 4, note: 'd' },
    ]);
    expect(rejects).toEqual([
      {
        record: deep,
        reasons: [expect.stringMatching(/note: the value cannot be stored \(nested too deeply to store\)$/)],
      },
    ]);
    const [file] = readdirSync(dir);
    expect(readFileSync(join(dir, file), 'utf8')).toBe('id,note\n1,a\n3,c\n4,d\n');
    await step.close();
  });

  it('infrastructure: a path that cannot be written (a file where its folder should be)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-errors-'));
    writeFileSync(join(dir, 'taken'), '');
    const step = await createTestStep<FileSink>(plugin, 'sink', { path: join(dir, 'taken', 'out.csv') });
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  });
});

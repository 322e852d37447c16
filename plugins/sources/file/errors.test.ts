// The file source's two error classes: what it cannot parse is data (a line, a sheet, a file → dead-letter with
// file:line, the next file read); a file it cannot open is infrastructure (the run stops, the checkpoint holds).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { expectErrorClass } from '../../../core/testing.ts';
import { readRecords } from '../../../formats/index.ts';
import { runManifest } from '../../../tests/manifest.ts';

describe('file source errors', () => {
  it('data: a bad line, a workbook without its sheet and a record a later step refuses each go to dead-letter with their origin; every other file and line lands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-errors-'));
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.csv'), 'id,amount\n1,10\n2,"unclosed\n3,30\n4,-4\n');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Other').addRows([
      ['id', 'amount'],
      [5, 50],
    ]);
    await book.xlsx.writeFile(join(dir, 'in', 'b.xlsx'));
    writeFileSync(join(dir, 'in', 'c.jsonl'), '{"id":6,"amount":60}\n');
    const run = await runManifest(
      `name: file-errors
sources:
  files: { use: file, with: { path: "${join(dir, 'in', '*')}", xlsx: { sheet: Sales } } }
transforms:
  checked: { use: validate, from: files, with: { schema: { properties: { amount: { type: number, minimum: 0 } } } } }
sinks:
  out: { use: csv, from: checked, with: { path: "${join(dir, 'out.csv')}", mode: overwrite } }
`,
      dir,
    );
    expect(run.ok).toBe(true);
    expect(run.dead.map((e) => [e.step, e.origin?.replace(dir, ''), e.reasons[0]])).toEqual([
      ['files', '/in/a.csv:3', expect.stringMatching(/^Value with unterminated quote found/)],
      ['checked', '/in/a.csv:5', 'amount: must be >= 0'],
      ['files', '/in/b.xlsx', 'no sheet "Sales" in the workbook (sheets: Other)'],
    ]);
    expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(3); // ids 1, 3 and 6
    await run.pipeline.stop();
  });

  it('infrastructure: a file that cannot be opened is not a data error (the runtime holds the checkpoint and tries again)', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'file-errors-')), 'gone.jsonl');
    await expectErrorClass(async () => {
      for await (const _ of readRecords(missing)) {
        /* nothing to read */
      }
    }, 'infrastructure');
  });
});

import { mkdirSync, mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import plugin, { type FileSource } from './index.ts';

function folder() {
  return mkdtempSync(join(tmpdir(), 'files-'));
}

describe('file source', () => {
  it('reads CSV with types; a corrupt line goes to dead-letter with file:line while the good lines land', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.csv'), 'id,amount,at\n1,10.5,2024-01-01 10:00:00\n2,oops,2024-01-01 11:00:00\n3,7.25,2024-01-01 12:00:00\n');
    const step = await createTestStep<FileSource>(plugin, 'source', { path: join(dir, '*.csv'), csv: { columns: { id: 'INTEGER', amount: 'DOUBLE', at: 'TIMESTAMP' } } });
    const { records, rejects } = await readAll(step.plugin);
    expect(records).toEqual([
      { id: 1, amount: 10.5, at: new Date('2024-01-01T10:00:00Z') },
      { id: 3, amount: 7.25, at: new Date('2024-01-01T12:00:00Z') },
    ]);
    expect(rejects).toHaveLength(1);
    expect(rejects[0].origin).toBe(`${join(dir, 'a.csv')}:3`);
    expect(rejects[0].record).toBe('2,oops,2024-01-01 11:00:00');
    expect(rejects[0].reasons[0]).toMatch(/Could not convert string "oops" to 'DOUBLE'/);
    await step.close();
  });

  it('remembers the files it has read and reads new or changed ones only', async () => {
    const dir = folder();
    writeFileSync(join(dir, '1.jsonl'), '{"n":1}\n{"n":2}\nnot json\n');
    const step = await createTestStep<FileSource>(plugin, 'source', { path: join(dir, '*.jsonl') });
    const first = await readAll(step.plugin);
    expect(first.records).toEqual([{ n: 1 }, { n: 2 }]);
    expect(first.rejects).toMatchObject([{ record: 'not json', origin: `${join(dir, '1.jsonl')}:3` }]);
    writeFileSync(join(dir, '2.jsonl'), '{"n":3}\n');
    const second = await readAll(step.plugin, { checkpoint: first.checkpoint });
    expect(second.records).toEqual([{ n: 3 }]);
    writeFileSync(join(dir, '1.jsonl'), '{"n":10}\n');
    utimesSync(join(dir, '1.jsonl'), new Date(), new Date(Date.now() + 5000));
    const third = await readAll(step.plugin, { checkpoint: second.checkpoint });
    expect(third.records).toEqual([{ n: 10 }]);
    await step.close();
  });

  it('fills {YYYY}/{MM}/{DD} from --date, and matches every partition without it', async () => {
    const dir = folder();
    for (const day of ['2024-01-14', '2024-01-15']) {
      const [y, m, d] = day.split('-');
      mkdirSync(join(dir, y, m, d), { recursive: true });
      writeFileSync(join(dir, y, m, d, 'tx.csv'), `day\n${day}\n`);
    }
    const step = await createTestStep<FileSource>(plugin, 'source', { path: join(dir, '{YYYY}/{MM}/{DD}/tx.csv'), csv: { columns: { day: 'VARCHAR' } } });
    expect((await readAll(step.plugin, { date: '2024-01-15' })).records).toEqual([{ day: '2024-01-15' }]);
    expect((await readAll(step.plugin)).records).toEqual([{ day: '2024-01-14' }, { day: '2024-01-15' }]);
    await step.close();
  });

  it('reads an uploaded XLSX workbook, every sheet, with header names as keys', async () => {
    const dir = folder();
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Products').addRows([['product_id', 'name', 'quantity'], ['P1', 'Tea', 10], ['P2', 'Rice', { formula: '2*3', result: 6 }]]);
    workbook.addWorksheet('Clients').addRows([['client_id', 'name'], ['C1', 'Ada']]);
    const file = join(dir, 'upload.xlsx');
    await workbook.xlsx.writeFile(file);
    const step = await createTestStep<FileSource>(plugin, 'source', { path: join(dir, 'inbox/*.xlsx') });
    const { records } = await readAll(step.plugin, { trigger: { type: 'upload', file, filename: 'stock_data.xlsx', view: 'upload' } } as never);
    expect(records).toEqual([
      { _sheet: 'Products', product_id: 'P1', name: 'Tea', quantity: 10 },
      { _sheet: 'Products', product_id: 'P2', name: 'Rice', quantity: 6 },
      { _sheet: 'Clients', client_id: 'C1', name: 'Ada' },
    ]);
    await step.close();
  });
});

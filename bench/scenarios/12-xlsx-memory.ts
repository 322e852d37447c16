// 12. XLSX uploads in bounded memory (issue 15): peak RSS of the economic-analytics server (the whole process, as
// users run it) when a workbook is uploaded, and the XLSX reader alone next to its floor.
//   12a  a 23 MB workbook: the original's four sheets (1,000 invoices) and an extra 206 MB sheet of 550k rows
//   12b  the reader alone on that 550k-row sheet (a process of its own, 10,000-record batches): rows/s and peak RSS;
//        the floor is the same sheet part inflated and parsed by saxes with nothing built (the least any reader does)
//   12c  a workbook whose four sheets hold 65,000 rows (12,500 invoices of 4 lines), all read and joined as one batch
//   12d  the 12a workbook uploaded to a generic manifest (upload → file → csv, no DuckDB step) that reads the 550k-row
//        sheet in batches of 10,000 records
// Each upload's row also gives its peak minus the idle server's RSS (what the upload itself costs).
// Each figure is the median of BENCH_RUNS runs; every run is a new process.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, startPlatform } from '../../tests/cli.ts';
import { writeLargeWorkbook } from '../../tests/large-workbook.ts';
import { median, peakRss, runs, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

const TARGET_MB = 300;

interface Upload {
  baselineMb: number;
  peakMb: number;
  records: number;
  rejected: number;
}

/** A generic manifest: an uploaded workbook's sheet Archive read in batches of 10,000 records into a CSV file. */
const GENERIC = `name: xlsx-to-csv
server: { port: 0 }
sources:
  sheet:
    use: file
    trigger: { upload: true }
    with: { path: "\${STATE_DIR}/inbox/*.xlsx", format: xlsx, batchSize: 10000, xlsx: { sheet: Archive } }
sinks:
  out:
    use: csv
    from: sheet
    with: { path: "\${STATE_DIR}/out/archive.csv", mode: append }
views:
  up:
    use: dashboard
    from: [out]
    with:
      title: Upload
      widgets:
        - { id: sheet, type: upload, title: Sheet, accept: [.xlsx], target: sheet }
`;

/** Starts `manifest` on a fresh state folder, uploads `file` to `upload` (view/upload/widget), reads the peak RSS. */
async function upload(dir: string, file: string, run: number, manifest: string, target: string): Promise<Upload> {
  const server = await startPlatform(['run', manifest, '--state-dir', join(dir, `state-${run}-${Date.now()}`)], {
    env: { ECON_PORT: '0' },
    timeoutMs: 180_000,
  });
  try {
    const baselineMb = peakRss(server.child.pid!) ?? NaN;
    const form = new FormData();
    form.append('file', new File([readFileSync(file)], 'stock_data.xlsx'));
    const response = await fetch(`${server.url}/api/views/${target}`, { method: 'POST', body: form });
    const body = (await response.json()) as { records: number; rejected: number };
    if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the consumers and analytics after the upload
    return { baselineMb, peakMb: peakRss(server.child.pid!) ?? NaN, records: body.records, rejected: body.rejected };
  } finally {
    await server.stop();
  }
}

/** Runs `mode` (reader | floor) over the sheet in a process of its own: seconds, rows and peak RSS. */
function readAlone(
  dir: string,
  file: string,
  mode: 'reader' | 'floor',
): Promise<{ seconds: number; rows: number; rssMb: number }> {
  const script = join(dir, `${mode}.mts`);
  const formats = fileURLToPath(new URL('../../formats/index.ts', import.meta.url));
  writeFileSync(
    script,
    `
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))});
const t0 = performance.now();
let rows = 0;
if (${JSON.stringify(mode)} === 'reader') {
  const { readRecords } = await import(${JSON.stringify(formats)});
  for await (const batch of readRecords(${JSON.stringify(file)}, { batchSize: 10000, xlsx: { sheet: 'Archive' } })) rows += batch.records.length;
} else {
  const { Open } = require('unzipper');
  const { SaxesParser } = require('saxes');
  const { files } = await Open.file(${JSON.stringify(file)});
  const parser = new SaxesParser();
  parser.on('closetag', (tag) => { if (tag.name === 'row') rows++; });
  for await (const chunk of files.find((f) => f.path === 'xl/worksheets/sheet5.xml').stream()) parser.write(chunk.toString('utf8'));
  rows--; // the header
}
const seconds = (performance.now() - t0) / 1000;
const rssMb = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
console.log(JSON.stringify({ seconds, rows, rssMb }));
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!))
        : reject(new Error(`${mode} exited ${code}: ${err}`)),
    );
  });
}

export async function xlsxMemory(): Promise<Result[]> {
  const dir = workDir('xlsx-memory');
  const archiveRows = Math.max(10_000, Math.round(550_000 * scale));
  const invoices = Math.max(1000, Math.round(12_500 * scale));
  const big = join(dir, 'extra-sheet.xlsx');
  const joined = join(dir, 'four-sheets.xlsx');
  await writeLargeWorkbook(big, { invoices: 1000, archiveRows });
  const joinedRows = await writeLargeWorkbook(joined, { invoices, linesPerInvoice: 4 });
  const expected = (rows: Record<string, number>) =>
    rows.Products + rows.Clients + rows.Invoices + rows.Invoice_Details;

  const generic = join(dir, 'xlsx-to-csv.yaml');
  writeFileSync(generic, GENERIC);
  const economic = 'pipelines/economic-analytics.yaml';
  const a: Upload[] = [];
  const c: Upload[] = [];
  const d: Upload[] = [];
  const reader: { seconds: number; rows: number; rssMb: number }[] = [];
  const floor: { seconds: number; rows: number; rssMb: number }[] = [];
  for (let r = 0; r < runs; r++) {
    a.push(await upload(dir, big, r, economic, 'upload/upload/workbook'));
    c.push(await upload(dir, joined, r, economic, 'upload/upload/workbook'));
    d.push(await upload(dir, big, r, generic, 'up/upload/sheet'));
    reader.push(await readAlone(dir, big, 'reader'));
    floor.push(await readAlone(dir, big, 'floor'));
  }
  for (const run of d)
    if (run.records !== archiveRows)
      throw new Error(`the generic upload gave ${run.records} records of ${archiveRows}`);
  for (const run of reader)
    if (run.rows !== archiveRows) throw new Error(`the reader gave ${run.rows} rows of ${archiveRows}`);
  for (const run of floor)
    if (run.rows !== archiveRows) throw new Error(`the floor counted ${run.rows} rows of ${archiveRows}`);
  const aPeak = median(a.map((u) => u.peakMb));
  const cPeak = median(c.map((u) => u.peakMb));
  const dPeak = median(d.map((u) => u.peakMb));
  const base = median([...a, ...c].map((u) => u.baselineMb));
  const over = (uploads: Upload[]) =>
    `peak − idle ${median(uploads.map((u) => u.peakMb - u.baselineMb)).toFixed(0)} MB`;
  const readerRate = archiveRows / median(reader.map((m) => m.seconds));
  const floorRate = archiveRows / median(floor.map((m) => m.seconds));
  return [
    {
      id: '12a',
      title: `XLSX upload, 4 sheets + a ${Math.round(archiveRows / 1000)}k-row extra sheet: server peak RSS`,
      ours: aPeak,
      limit: base,
      unit: 'MB',
      ratio: null,
      target: `< ${TARGET_MB} MB`,
      met: aPeak < TARGET_MB,
      note: `limit column: the idle server's RSS before the upload; ${over(a)}; records ${a[0].records}, rejected ${a[0].rejected} (the extra sheet is not read)`,
    },
    {
      id: '12b',
      title: `XLSX reader alone, ${Math.round(archiveRows / 1000)}k-row sheet: rows/s (floor: inflate + saxes)`,
      ours: readerRate,
      limit: floorRate,
      unit: 'rows/s',
      ratio: readerRate / floorRate,
      target: 'peak RSS reported',
      met: null,
      note: `peak RSS reader ${median(reader.map((m) => m.rssMb)).toFixed(0)} MB, floor ${median(floor.map((m) => m.rssMb)).toFixed(0)} MB`,
    },
    {
      id: '12c',
      title: `XLSX upload, 4 sheets of ${expected(joinedRows).toLocaleString('en-US')} rows read as one batch: server peak RSS`,
      ours: cPeak,
      limit: base,
      unit: 'MB',
      ratio: null,
      target: `< ${TARGET_MB} MB`,
      met: cPeak < TARGET_MB,
      note: `${over(c)}; records ${c[0].records} of ${expected(joinedRows)}, rejected ${c[0].rejected}; one batch of the whole workbook, held in the store DuckDB (the sheets are joined)`,
    },
    {
      id: '12d',
      title: `XLSX upload → file → csv, the ${Math.round(archiveRows / 1000)}k-row sheet read in 10,000-record batches: server peak RSS`,
      ours: dPeak,
      limit: median(d.map((u) => u.baselineMb)),
      unit: 'MB',
      ratio: null,
      target: `< ${TARGET_MB} MB`,
      met: dPeak < TARGET_MB,
      note: `limit column: the idle server's RSS; ${over(d)}; records ${d[0].records} of ${archiveRows}, rejected ${d[0].rejected}`,
    },
  ];
}

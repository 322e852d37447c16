// Large stock workbooks for memory tests and benchmarks (the upload test, bench scenario 12): the original's four
// sheets (Products, Clients, Invoices, Invoice_Details) and, optionally, a large fifth sheet. The sheet parts are
// written straight as XML (inline strings) into a streamed zip: 550k rows take seconds, where a workbook writer
// takes most of a minute.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import JSZip from 'jszip';

export interface LargeWorkbook {
  /** Invoices, each with `linesPerInvoice` rows in Invoice_Details (default 3). */
  invoices: number;
  linesPerInvoice?: number;
  products?: number;
  clients?: number;
  /** Rows of an extra sheet `Archive` (six columns, ~370 bytes of XML a row), which the pipeline does not read. */
  archiveRows?: number;
}

type Cell = string | number;

const COLUMNS = 'ABCDEFGHIJ';

/** Writes the workbook; resolves with the rows of each sheet (header not counted). */
export async function writeLargeWorkbook(file: string, spec: LargeWorkbook): Promise<Record<string, number>> {
  const { invoices, linesPerInvoice = 3, products = 500, clients = 2000, archiveRows = 0 } = spec;
  const sheets: [string, Cell[], number, (i: number) => Cell[]][] = [
    [
      'Products',
      [
        'id',
        'name',
        'quantity',
        'price',
        'category',
        'buy_price',
        'min_margin_threshold',
        'last_movement',
        'expiry_date',
        'batch_no',
      ],
      products,
      (i) => [
        i + 1,
        `product ${i + 1}`,
        10 + (i % 50),
        100 + (i % 7),
        `cat${i % 9}`,
        60 + (i % 5),
        10,
        'None',
        'None',
        'None',
      ],
    ],
    [
      'Clients',
      ['id', 'name', 'email', 'phone', 'total_revenue_generated', 'loyalty_tier'],
      clients,
      (i) => [i + 1, `client ${i + 1}`, `c${i + 1}@example.com`, '0770498926', 0, 'Standard'],
    ],
    [
      'Invoices',
      ['id', 'client_id', 'date', 'total'],
      invoices,
      (i) => [
        i + 1,
        (i % clients) + 1,
        `2025-12-${String(1 + (i % 28)).padStart(2, '0')} 13:32:48`,
        100 * linesPerInvoice,
      ],
    ],
    [
      'Invoice_Details',
      ['id', 'facture_id', 'product_id', 'quantity', 'price'],
      invoices * linesPerInvoice,
      (i) => [i + 1, Math.floor(i / linesPerInvoice) + 1, (i % products) + 1, 1 + (i % 3), 100],
    ],
  ];
  if (archiveRows) {
    sheets.push([
      'Archive',
      ['id', 'note', 'amount', 'when', 'who', 'tag'],
      archiveRows,
      (i) => [
        i,
        `archived note number ${i} with some text to make it longer`,
        i * 1.5,
        '2025-01-01 00:00:00',
        `user_${i % 5000}`,
        `tag-${i % 97}`,
      ],
    ]);
  }
  const zip = new JSZip();
  const xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
  const main = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const rels = 'http://schemas.openxmlformats.org/package/2006/relationships';
  const officeRels = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  zip.file(
    '[Content_Types].xml',
    `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('')}</Types>`,
  );
  zip.file(
    '_rels/.rels',
    `${xml}<Relationships xmlns="${rels}"><Relationship Id="rId1" Type="${officeRels}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
  );
  zip.file(
    'xl/workbook.xml',
    `${xml}<workbook xmlns="${main}" xmlns:r="${officeRels}"><sheets>${sheets.map(([name], i) => `<sheet name="${name}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('')}</sheets></workbook>`,
  );
  zip.file(
    'xl/_rels/workbook.xml.rels',
    `${xml}<Relationships xmlns="${rels}">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${officeRels}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('')}</Relationships>`,
  );
  sheets.forEach(([, header, rows, make], i) =>
    zip.file(`xl/worksheets/sheet${i + 1}.xml`, Readable.from(sheetXml(header, rows, make))),
  );
  await pipeline(
    zip.generateNodeStream({
      type: 'nodebuffer',
      streamFiles: true,
      compression: 'DEFLATE',
      compressionOptions: { level: 1 },
    }),
    createWriteStream(file),
  );
  return Object.fromEntries(sheets.map(([name, , rows]) => [name, rows]));
}

function* sheetXml(header: Cell[], rows: number, make: (i: number) => Cell[]): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rowXml(1, header)}`;
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += rowXml(i + 2, make(i));
    if (chunk.length > 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}</sheetData></worksheet>`;
}

function rowXml(n: number, values: Cell[]): string {
  const cells = values.map((v, i) =>
    typeof v === 'number'
      ? `<c r="${COLUMNS[i]}${n}"><v>${v}</v></c>`
      : `<c r="${COLUMNS[i]}${n}" t="inlineStr"><is><t>${escapeXml(v)}</t></is></c>`,
  );
  return `<row r="${n}">${cells.join('')}</row>`;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
}

// What the XLSX reader (formats/index.ts, openWorkbook) uses from exceljs's dependency and internals to read a
// workbook through its zip's central directory; neither ships types.
declare module 'unzipper' {
  export const Open: { file(path: string): Promise<{ files: { path: string; stream(): NodeJS.ReadableStream }[] }> };
}

declare module 'exceljs/lib/utils/iterate-stream.js' {
  export default function iterateStream(stream: NodeJS.ReadableStream): AsyncIterable<unknown>;
}

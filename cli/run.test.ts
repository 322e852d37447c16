import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbClient } from '../connections/duckdb/index.ts';
import { platform } from '../tests/cli.ts';

describe('platform run --once (end to end, as a user runs it)', () => {
  it('lands exactly the good rows, puts the corrupt line and the schema violation in dead-letter, prints a summary; re-running reads nothing new', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    writeFileSync(
      join(dir, 'sales.csv'),
      'id,region,amount\n1,north,10.5\n2,south,-3\n3,"east,x",7\n4,west,notanumber\n5,north,2\n',
    );
    const manifest = join(dir, 'sales.yaml');
    writeFileSync(
      manifest,
      `name: sales
connections:
  warehouse: { type: duckdb, path: "${join(dir, 'w.duckdb')}" }
sources:
  files:
    use: file
    connection: warehouse
    with: { path: "${join(dir, '*.csv')}", csv: { columns: { id: INTEGER, region: VARCHAR, amount: DOUBLE } } }
transforms:
  checked:
    use: validate
    from: files
    with: { schema: { type: object, required: [id, amount], properties: { amount: { type: number, exclusiveMinimum: 0 } } } }
  upper:
    use: sql
    from: checked
    connection: warehouse
    with: { query: "SELECT id, upper(region) AS region, amount FROM input" }
sinks:
  sales:
    use: duckdb
    from: upper
    connection: warehouse
    with: { table: sales, mode: upsert, key: [id], createTable: true }
`,
    );
    const first = await platform([
      'run',
      manifest,
      '--once',
      '--log-format',
      'json',
      '--state-dir',
      join(dir, 'state'),
    ]);
    expect(first.code).toBe(0);
    // Logs are JSON lines for machines; the summary goes to standard output.
    const logs = first.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(logs.some((l) => l.msg.startsWith('connection warehouse (duckdb): embedded'))).toBe(true);
    // out, rejected (this run), dead letters (all time), errors
    expect(first.stdout).toMatch(/files\s+source\s+file\s+4\s+1\s+1\s+0/);
    expect(first.stdout).toMatch(/checked\s+transform\s+validate\s+4\s+3\s+1\s+1\s+0/);
    expect(first.stdout).toMatch(/sales\s+sink\s+duckdb\s+3\s+3\s+0\s+0\s+0/);
    expect(first.stdout).toContain('this run: 2 record(s) rejected; all time: 2 record(s) in dead-letter');

    const db = await DuckDbClient.open(join(dir, 'w.duckdb'));
    expect(await db.query('SELECT * FROM sales ORDER BY id')).toEqual([
      { id: 1, region: 'NORTH', amount: 10.5 },
      { id: 3, region: 'EAST,X', amount: 7 },
      { id: 5, region: 'NORTH', amount: 2 },
    ]);
    db.close();
    const dead = readFileSync(join(dir, 'state', 'dead-letter.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead.map((d) => [d.step, d.origin ?? null, d.reasons[0]])).toEqual([
      [
        'files',
        `${join(dir, 'sales.csv')}:5`,
        expect.stringMatching(
          /^Error when converting column "amount"\. Could not convert string "notanumber" to 'DOUBLE'/,
        ),
      ],
      ['checked', `${join(dir, 'sales.csv')}:3`, 'amount: must be > 0'],
    ]);

    const again = await platform(['run', manifest, '--once', '--state-dir', join(dir, 'state')]);
    expect(again.code).toBe(0);
    // The file is remembered: nothing read, nothing rejected this run; its earlier reject is still in dead-letter (all time).
    expect(again.stdout).toMatch(/files\s+source\s+file\s+0\s+0\s+1\s+0/);
    expect(again.stdout).toContain('this run: 0 record(s) rejected; all time: 2 record(s) in dead-letter');
  });

  it('exits 2 with the line and column for an invalid manifest, and 1 when a run fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nsources:\n  x: { use: file, with: { path: 3, colour: red } }\n');
    const invalid = await platform(['run', bad, '--once']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`${bad}:3:44 sources.x.with.colour: unknown property "colour"`);
    const failing = join(dir, 'failing.yaml');
    writeFileSync(
      failing,
      `name: failing
connections:
  wh: { type: duckdb, path: ":memory:" }
sources:
  q: { use: duckdb, connection: wh, with: { query: "SELECT * FROM missing_table" } }
sinks:
  out: { use: console, from: q }
`,
    );
    const failed = await platform(['run', failing, '--once', '--state-dir', join(dir, 'state')]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('q: run failed');
    expect(failed.stderr).toContain('missing_table');
  });

  it('a port in use names the --port flag, and the run stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const manifest = join(dir, 'busy.yaml');
    writeFileSync(
      manifest,
      `name: busy\nserver: { port: ${port} }\nsources:\n  n: { use: generator, with: { count: 1, fields: { n: { sequence: {} } } } }\nsinks:\n  out: { use: console, from: n }\n`,
    );
    try {
      const result = await platform(['run', manifest, '--state-dir', join(dir, 'state')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `cannot listen on 127.0.0.1:${port}: the port is in use by another process; give another with --port N`,
      );
    } finally {
      taken.close();
    }
  });

  it("prints no third-party warning a user cannot act on (the AWS SDK's Node-version notice)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    const manifest = join(dir, 's3.yaml');
    // The SDK warns when its client is made, before any request: an endpoint nobody listens on is enough.
    writeFileSync(
      manifest,
      `name: s3warn\nconnections:\n  lake: { type: s3, endpoint: "http://127.0.0.1:1", accessKeyId: a, secretAccessKey: b }\nsources:\n  n: { use: generator, with: { count: 1, fields: { n: { sequence: {} } } } }\nsinks:\n  out: { use: console, from: n }\n`,
    );
    const result = await platform(['run', manifest, '--once', '--state-dir', join(dir, 'state')]);
    expect(result.stderr).toContain('connection "lake" (s3');
    expect(result.stderr).not.toMatch(/Warning|AWS SDK/);
  });
});

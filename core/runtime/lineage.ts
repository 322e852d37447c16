// Where a step's data comes from beyond its `from:`: a sink writes a table, topic, files, objects or a collection
// that a source reads (batch-analytics' parquet sink → file source; a Kafka sink → Kafka source), and a source
// triggered `after:` steps reads what they wrote. Freshness, rejects and live refreshes follow these hops.
import type { StepDeclaration } from '../manifest/index.ts';
import type { ConnectionDeclaration } from '../sdk/connections.ts';

/** Something outside the pipeline that steps read and write. `name` is a table, a topic, a path or a key pattern. */
export interface Resource {
  kind: 'table' | 'topic' | 'files' | 'objects' | 'collection';
  /** The connection it lives on (files: none, they are on this machine). */
  connection?: string;
  name: string;
}

/** `table warehouse.revenue`, `topic bus/fx-rates`, `files data/raw/{YYYY}/x.csv`: for pages and errors. */
export function resourceLabel(resource: Resource): string {
  if (resource.kind === 'files') return `files ${resource.name}`;
  const separator = resource.kind === 'table' || resource.kind === 'collection' ? '.' : '/';
  return `${resource.kind} ${resource.connection ? `${resource.connection}${separator}` : ''}${resource.name}`;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() ? value.trim() : undefined;
const list = (value: unknown): string[] =>
  ([] as unknown[])
    .concat(value ?? [])
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : []))
    .map((v) => v.trim())
    .filter(Boolean);

/** SQL views declared in a connection's `init:` (`CREATE [OR REPLACE] VIEW v AS …`), by connection: the tables each reads. */
export type SqlViews = Map<string, Map<string, string[]>>;

export function sqlViews(connections: ConnectionDeclaration[]): SqlViews {
  const out: SqlViews = new Map();
  for (const connection of connections) {
    const views = new Map<string, string[]>();
    for (const statement of ([] as unknown[]).concat(connection.config?.init ?? [])) {
      const match =
        typeof statement === 'string' &&
        /^\s*create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?view\s+(?:if\s+not\s+exists\s+)?((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))*)\s+as\s+([\s\S]*)$/i.exec(
          statement,
        );
      if (match) views.set(tableName(match[1]), tablesInSql(match[2]));
    }
    if (views.size) out.set(connection.name, views);
  }
  return out;
}

/** The tables a query on `connection` reads, through the SQL views declared on it. */
export function tablesRead(sql: string, connection: string | undefined, views: SqlViews = new Map()): string[] {
  const declared = (connection && views.get(connection)) || new Map<string, string[]>();
  const out = new Set<string>();
  const visit = (name: string, depth: number) => {
    if (out.has(name)) return;
    out.add(name);
    if (depth < 10) for (const inner of declared.get(name) ?? []) visit(inner, depth + 1);
  };
  for (const name of tablesInSql(sql)) visit(name, 0);
  return [...out];
}

/** The sinks writing the tables (or the tables behind the SQL views) a query on `connection` reads, in manifest order. */
export function producersOf(
  steps: StepDeclaration[],
  connection: string,
  sql: string,
  views: SqlViews = new Map(),
): string[] {
  const tables = new Set(tablesRead(sql, connection, views));
  return steps
    .filter(
      (s) =>
        s.kind === 'sink' &&
        resourcesOf(s).writes.some((w) => w.kind === 'table' && w.connection === connection && tables.has(w.name)),
    )
    .map((s) => s.id);
}

/** What a step reads and writes, from the usual settings of its `with:` (table, topic(s), path, bucket, collection). */
export function resourcesOf(
  step: StepDeclaration,
  views: SqlViews = new Map(),
): { reads: Resource[]; writes: Resource[] } {
  const config = step.config ?? {};
  const connection = step.connection;
  const found: Resource[] = [];
  const table = text(config.table);
  if (table) found.push({ kind: 'table', connection, name: tableName(table) });
  if (step.kind !== 'sink' && typeof config.query === 'string') {
    for (const name of tablesRead(config.query, connection, views)) found.push({ kind: 'table', connection, name });
  }
  for (const topic of list(step.kind === 'sink' ? config.topic : config.topics))
    found.push({ kind: 'topic', connection, name: topic });
  for (const path of list(config.path)) found.push({ kind: 'files', name: normalizePath(path) });
  const bucket = text(config.bucket);
  if (bucket)
    found.push({
      kind: 'objects',
      connection,
      name: `${bucket}/${step.kind === 'sink' ? (text(config.key) ?? '') : (text(config.prefix) ?? '')}`,
    });
  const collection = text(config.collection);
  if (collection) found.push({ kind: 'collection', connection, name: collection });
  if (step.kind === 'sink') return { reads: [], writes: found };
  if (step.kind === 'source') return { reads: found, writes: [] };
  return { reads: [], writes: [] };
}

/**
 * For each step, the steps whose data reaches it other than through `from:`: the sinks writing what a source reads,
 * and the steps a source is triggered after. (Views name their inputs in `from:`.)
 */
export function dataInputs(steps: StepDeclaration[], views: SqlViews = new Map()): Map<string, string[]> {
  const written = steps.filter((s) => s.kind === 'sink').map((s) => ({ id: s.id, writes: resourcesOf(s).writes }));
  const inputs = new Map<string, string[]>();
  for (const step of steps) {
    if (step.kind !== 'source') continue;
    const found = new Set(step.trigger?.after ?? []);
    const reads = resourcesOf(step, views).reads;
    for (const sink of written) if (sink.writes.some((w) => reads.some((r) => sameResource(w, r)))) found.add(sink.id);
    found.delete(step.id);
    if (found.size) inputs.set(step.id, [...found]);
  }
  return inputs;
}

/** Whether what a sink writes (`written`) is what a source reads (`read`). */
export function sameResource(written: Resource, read: Resource): boolean {
  if (written.kind !== read.kind || (written.connection ?? '') !== (read.connection ?? '')) return false;
  switch (written.kind) {
    case 'table':
    case 'collection':
    case 'topic':
      return written.name.toLowerCase() === read.name.toLowerCase();
    case 'files':
      return patternRegex(read.name).test(example(written.name)) || patternRegex(written.name).test(example(read.name));
    case 'objects': {
      // A source reads every key under its prefix; a sink writes keys made from its template.
      const [wBucket, ...wKey] = written.name.split('/');
      const [rBucket, ...rPrefix] = read.name.split('/');
      return wBucket === rBucket && example(wKey.join('/')).startsWith(rPrefix.join('/'));
    }
  }
}

function tableName(name: string): string {
  return name
    .replace(/"/g, '')
    .replace(/^public\./i, '')
    .toLowerCase();
}

/** Table names after FROM and JOIN in a query (a query source reading the warehouse). */
export function tablesInSql(sql: string): string[] {
  const names = new Set<string>();
  const withNames = new Set(
    [...sql.matchAll(/(?:\bwith\b|,)\s*("?[A-Za-z_][\w]*"?)\s+as\s*\(/gi)].map((m) => tableName(m[1])),
  );
  for (const match of sql.matchAll(
    /\b(?:from|join)\s+((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))*)/gi,
  )) {
    const name = tableName(match[1]);
    if (!withNames.has(name) && !/^(select|lateral|unnest|read_\w+|generate_series|range)$/.test(name)) names.add(name);
  }
  return [...names];
}

function normalizePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** A path or key template as a regex: `{…}` placeholders and `*` match within one segment, `**` across segments. */
function patternRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') {
      const end = pattern.indexOf('}', i);
      if (end > i) {
        out += '[^/]*';
        i = end;
        continue;
      }
    }
    if (ch === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else out += ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** One concrete path a template could produce (placeholders and wildcards filled with `x`). */
function example(pattern: string): string {
  return pattern
    .replace(/\{[^}]*\}/g, 'x')
    .replace(/\*+/g, 'x')
    .replace(/\?/g, 'x');
}

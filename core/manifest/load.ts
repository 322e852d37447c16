import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parse, parseDocument, visit, type Document, type Node } from 'yaml';

/** A problem in a manifest, located as `file:line:col path: message`. */
export interface ManifestIssue {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export function formatIssue(issue: ManifestIssue): string {
  return `${issue.file}:${issue.line}:${issue.col} ${issue.path ? issue.path + ': ' : ''}${issue.message}`;
}

export class ManifestError extends Error {
  constructor(readonly issues: ManifestIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ManifestError';
  }
}

/** The parsed YAML with positions, after `${VAR}` interpolation. */
export interface LoadedYaml {
  file: string;
  value: Record<string, unknown>;
  /** Where a path (e.g. ['sources', 'tx', 'with', 'table']) stands in the file; falls back to the nearest parent. */
  locate(path: (string | number)[]): { line: number; col: number };
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}/g;

/**
 * Reads a YAML manifest, substituting `${VAR}` and `${VAR:-default}` in string scalars from `env`.
 * Every error (syntax, unset variable) is reported with its line and column; nothing is half-loaded.
 */
export function loadYaml(file: string, env: NodeJS.ProcessEnv = process.env, text = readFileSync(file, 'utf8')): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const position = (offset: number) => lineCounter.linePos(offset);
  const issues: ManifestIssue[] = [];
  // After the first syntax errors the parser reports mostly consequences: the first few are the useful ones.
  for (const error of doc.errors.slice(0, 3)) {
    const { line, col } = position(error.pos[0]);
    issues.push({ file, line, col, path: '', message: `YAML syntax: ${error.message.split('\n')[0]}` });
  }
  if (issues.length) throw new ManifestError(issues);

  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const whole = node.type === 'PLAIN' && /^\$\{[^}]*\}$/.test(node.value);
      node.value = node.value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        const { line, col } = position(node.range?.[0] ?? 0);
        issues.push({ file, line, col, path: '', message: `environment variable ${name} is not set and has no default (write \${${name}:-value} to give one)` });
        return '';
      });
      // An unquoted `${PORT:-8080}` takes the type it would have had written out (number, boolean, null).
      if (whole) {
        const typed = parse(node.value as string) as unknown;
        if (typed === null || typeof typed === 'number' || typeof typed === 'boolean') node.value = typed;
      }
    },
  });
  if (issues.length) throw new ManifestError(issues);

  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError([{ file, line: 1, col: 1, path: '', message: 'a manifest is a YAML mapping with name, sources, transforms, sinks and views' }]);
  }
  return { file, value: value as Record<string, unknown>, locate: (path) => locate(doc, path, position) };
}

function locate(doc: Document, path: (string | number)[], position: (offset: number) => { line: number; col: number }) {
  // Walk down as far as the path exists; a missing property is reported at its parent mapping.
  let node: Node | null | undefined = doc.contents as Node;
  let best = node;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      node = pair.value as Node;
      // A mapping or list is best shown by its key; a scalar by its value.
      best = (isScalar(node) ? node : (pair.key as Node)) ?? best;
      continue;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)] as Node;
    } else break;
    if (node) best = node;
  }
  const offset = best?.range?.[0] ?? 0;
  return position(offset);
}

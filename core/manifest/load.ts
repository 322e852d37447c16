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
  /** The variables substituted into the value at exactly this path, e.g. `BATCH_PORT="["`, for error messages. */
  origin(path: (string | number)[]): string | undefined;
}

/**
 * Not read from the environment: the run's state folder (`--state-dir`, PLATFORM_STATE_DIR or `.platform/<name>`),
 * which the runtime substitutes once it knows it. Default paths of embedded data use it, so they follow --state-dir.
 */
export const STATE_DIR_VARIABLE = 'STATE_DIR';
const STATE_DIR_REFERENCE = '${' + STATE_DIR_VARIABLE + '}';

/**
 * Reads a YAML manifest, substituting `${VAR}` and `${VAR:-default}` (the default may itself hold `${…}`) in string
 * scalars from `env`. Every error (syntax, unset variable) is reported with its line and column, and an error about
 * a substituted value names the variable; nothing is half-loaded.
 */
export function loadYaml(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  text = readFileSync(file, 'utf8'),
): LoadedYaml {
  const lineCounter = new LineCounter();
  // The parser's own duplicate-key check compares each key with every earlier one (40,000 keys: minutes); ours is a Set.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true });
  const position = (offset: number) => lineCounter.linePos(offset);
  const issues: ManifestIssue[] = [];
  // After the first syntax errors the parser reports mostly consequences: the first few are the useful ones.
  for (const error of doc.errors.slice(0, 3)) {
    const { line, col } = position(error.pos[0]);
    issues.push({ file, line, col, path: '', message: `YAML syntax: ${error.message.split('\n')[0]}` });
  }
  if (issues.length === 0)
    issues.push(
      ...duplicateKeys(doc)
        .slice(0, 3)
        .map(({ key, offset }) => ({
          file,
          ...position(offset),
          path: '',
          message: `YAML syntax: duplicate key "${key}" (map keys must be unique)`,
        })),
    );
  if (issues.length) throw new ManifestError(issues);

  const origins = new WeakMap<Node, string>();
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const whole = node.type === 'PLAIN' && isWholeReference(node.value);
      const used: string[] = [];
      const { line, col } = position(node.range?.[0] ?? 0);
      node.value = interpolate(node.value, env, used, (name) => {
        issues.push({
          file,
          line,
          col,
          path: '',
          message: `environment variable ${name} is not set and has no default (write \${${name}:-value} to give one)`,
        });
      });
      if (used.length) origins.set(node, used.join(', '));
      // An unquoted `${PORT:-8080}` takes the type it would have had written out (number, boolean, null); a value
      // that is no YAML scalar (`[`) stays text, for the schema to report with the variable's name.
      if (whole) {
        let typed: unknown = node.value;
        try {
          typed = parse(node.value as string) as unknown;
        } catch {
          /* not a YAML scalar: kept as text */
        }
        if (typed === null || typeof typed === 'number' || typeof typed === 'boolean') node.value = typed;
      }
    },
  });
  if (issues.length) throw new ManifestError(issues);

  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError([
      {
        file,
        line: 1,
        col: 1,
        path: '',
        message: 'a manifest is a YAML mapping with name, sources, transforms, sinks and views',
      },
    ]);
  }
  return {
    file,
    value: value as Record<string, unknown>,
    locate: (path) => locate(doc, path, position),
    origin: (path) => {
      const node = doc.getIn(path, true);
      return isScalar(node) ? origins.get(node) : undefined;
    },
  };
}

/**
 * Substitutes `${NAME}` and `${NAME:-default}` in `text`; `${STATE_DIR}` is left for the runtime. `used` receives
 * `NAME="value"` (or `NAME unset, default "…"`) for each variable, `unset` each variable without value or default.
 */
function interpolate(text: string, env: NodeJS.ProcessEnv, used: string[], unset: (name: string) => void): string {
  let out = '';
  let at = 0;
  for (let start = text.indexOf('${'); start !== -1; start = text.indexOf('${', at)) {
    out += text.slice(at, start);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(start + 2))?.[0];
    const afterName = start + 2 + (name?.length ?? 0);
    const end = name ? closingBrace(text, afterName) : -1;
    if (!name || end === -1 || (text[afterName] !== '}' && !text.startsWith(':-', afterName))) {
      out += '${'; // not a reference: kept as written
      at = start + 2;
      continue;
    }
    at = end + 1;
    if (name === STATE_DIR_VARIABLE) {
      out += STATE_DIR_REFERENCE;
      continue;
    }
    const value = env[name];
    if (value !== undefined && value !== '') {
      used.push(`${name}=${JSON.stringify(value)}`);
      out += value;
    } else if (text[afterName] === ':') {
      const fallback = interpolate(text.slice(afterName + 2, end), env, used, unset);
      used.push(`${name} unset, default ${JSON.stringify(fallback)}`);
      out += fallback;
    } else {
      unset(name);
    }
  }
  return out + text.slice(at);
}

/** `${NAME}` or `${NAME:-…}` and nothing else. */
function isWholeReference(text: string): boolean {
  const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(text)?.[1];
  return name !== undefined && closingBrace(text, 2 + name.length) === text.length - 1;
}

/** The `}` that closes the reference whose name ends at `from`, skipping nested `${…}`. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text.startsWith('${', i)) {
      depth++;
      i++;
    } else if (text[i] === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** Keys written twice in one mapping (merge keys `<<` may repeat). */
function duplicateKeys(doc: Document): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || typeof pair.key.value === 'symbol' || pair.key.value === '<<') continue; // merge keys
        const key = String(pair.key.value);
        if (seen.has(key)) found.push({ key, offset: pair.key.range?.[0] ?? 0 });
        seen.add(key);
      }
    },
  });
  return found;
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

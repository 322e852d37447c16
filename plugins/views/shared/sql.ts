// Query templates of views: `{{where}}` / `{{and}}` expand to the active filter conditions and named parameters
// (`:from`, `:to`, `:<filter or param>`) become positional `$n`. Values are always bound, never pasted into SQL;
// only column expressions from the manifest (trusted configuration) appear in the generated text.

/** One condition of an active filter. `column` is a SQL expression from the manifest. */
export type Condition =
  | { column: string; op: '='; value: unknown }
  | { column: string; op: 'in'; values: unknown[] }
  | { column: string; op: 'range'; from?: unknown; to?: unknown };

export interface BindInput {
  conditions?: Condition[];
  /** Values of named parameters. Arrays expand to a list (`IN (:ids)` → `IN ($1, $2)`); an empty array binds NULL. */
  named?: Record<string, unknown>;
}

export interface BoundQuery {
  text: string;
  params: unknown[];
}

export class QueryTemplateError extends Error {}

type Part = { kind: 'text'; text: string } | { kind: 'param'; name: string } | { kind: 'slot'; name: 'where' | 'and' };

/**
 * Splits SQL into text, `:name` parameters and `{{slot}}`s, skipping string literals, quoted identifiers,
 * comments and `::` casts. Positional `$n` written by hand is refused: it would collide with bound values.
 */
export function parseTemplate(sql: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  const flush = () => {
    if (text) parts.push({ kind: 'text', text });
    text = '';
  };
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === "'" || ch === '"') {
      const end = closingQuote(sql, i, ch);
      text += sql.slice(i, end);
      i = end;
    } else if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      text += sql.slice(i, stop);
      i = stop;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      text += sql.slice(i, stop);
      i = stop;
    } else if (ch === ':' && next === ':') {
      text += '::';
      i += 2;
    } else if (ch === ':' && /[A-Za-z_]/.test(next ?? '')) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))!;
      flush();
      parts.push({ kind: 'param', name: match[0] });
      i += 1 + match[0].length;
    } else if (ch === '{' && next === '{') {
      const end = sql.indexOf('}}', i);
      const name =
        end === -1
          ? ''
          : sql
              .slice(i + 2, end)
              .trim()
              .toLowerCase();
      if (name !== 'where' && name !== 'and')
        throw new QueryTemplateError(
          `unknown placeholder ${sql.slice(i, end === -1 ? i + 12 : end + 2)} (use {{where}} or {{and}})`,
        );
      flush();
      parts.push({ kind: 'slot', name });
      i = end + 2;
    } else if (ch === '$' && /\d/.test(next ?? '')) {
      throw new QueryTemplateError(
        'positional parameters ($1) are reserved: use named parameters such as :from, :to or :<filter>',
      );
    } else {
      text += ch;
      i++;
    }
  }
  flush();
  return parts;
}

function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote)
        i += 2; // doubled quote inside the literal
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** Named parameters a template uses, for validating configs up front. */
export function templateParams(sql: string): string[] {
  return [...new Set(parseTemplate(sql).flatMap((p) => (p.kind === 'param' ? [p.name] : [])))];
}

export function bindQuery(sql: string, input: BindInput = {}): BoundQuery {
  const params: unknown[] = [];
  const named = input.named ?? {};
  const positions = new Map<string, string>();
  const placeholder = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions = () => (input.conditions ?? []).map((c) => renderCondition(c, placeholder));
  let text = '';
  for (const part of parseTemplate(sql)) {
    if (part.kind === 'text') text += part.text;
    else if (part.kind === 'slot') {
      const rendered = conditions();
      if (rendered.length) text += `${part.name === 'where' ? 'WHERE' : 'AND'} ${rendered.join(' AND ')}`;
    } else {
      if (!Object.hasOwn(named, part.name)) {
        const known = Object.keys(named);
        throw new QueryTemplateError(
          `unknown parameter :${part.name}${known.length ? ` (known: ${known.map((k) => ':' + k).join(', ')})` : ''}`,
        );
      }
      let rendered = positions.get(part.name);
      if (!rendered) {
        const value = named[part.name];
        rendered = Array.isArray(value)
          ? value.length
            ? value.map(placeholder).join(', ')
            : placeholder(null)
          : placeholder(value ?? null);
        positions.set(part.name, rendered);
      }
      text += rendered;
    }
  }
  return { text, params };
}

function renderCondition(condition: Condition, placeholder: (value: unknown) => string): string {
  switch (condition.op) {
    case '=':
      return `${condition.column} = ${placeholder(condition.value)}`;
    case 'in':
      return `${condition.column} IN (${condition.values.map(placeholder).join(', ')})`;
    case 'range': {
      const parts: string[] = [];
      if (condition.from !== undefined && condition.from !== null)
        parts.push(`${condition.column} >= ${placeholder(condition.from)}`);
      if (condition.to !== undefined && condition.to !== null)
        parts.push(`${condition.column} < ${placeholder(condition.to)}`);
      return parts.length ? parts.join(' AND ') : 'TRUE';
    }
  }
}

/** Wraps a bound query with LIMIT/OFFSET as bound parameters too. */
export function paginate(query: BoundQuery, limit: number, offset = 0): BoundQuery {
  const inner = stripSemicolon(query.text);
  const params = [...query.params, limit, offset];
  return { text: `SELECT * FROM (\n${inner}\n) AS _page LIMIT $${params.length - 1} OFFSET $${params.length}`, params };
}

export function stripSemicolon(sql: string): string {
  return sql.trim().replace(/;+\s*$/, '');
}

/** Quotes an identifier, `schema.table` part by part. */
export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => '"' + part.replaceAll('"', '""') + '"')
    .join('.');
}

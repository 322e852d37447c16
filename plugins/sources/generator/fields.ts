import type { Faker } from '@faker-js/faker';
import type { Row } from '../../../core/sdk/types.ts';
import type { FieldSpec } from './index.ts';

export interface FieldContext {
  faker: Faker;
  /** 0-based position of the record in the whole generated stream. */
  index: number;
  now: Date;
  /** The day being made, 'YYYY-MM-DD' (UTC): the run's --date, the daily mode's day, or the clock's date. */
  day: string;
  record: Row;
}

const KINDS = [
  'const',
  'faker',
  'oneOf',
  'int',
  'float',
  'sequence',
  'uuid',
  'now',
  'dayTime',
  'template',
  'when',
] as const;
const OPTIONS: Record<string, string[]> = {
  faker: ['args'],
  oneOf: ['weights'],
  float: ['decimals'],
  when: ['then', 'else'],
};

/** Template placeholders: `{{digits:N}}`, `{{int:A:B}}`, `{{year}}`, `{{date}}`, `{{uuid}}`, `{{index}}`, `{{<earlier field>}}`. */
const TEMPLATE = /\{\{([^}]+)\}\}/g;

/**
 * Checks a field spec once, at construction, so a typo fails the step with the field named rather than the run.
 * `earlier` are the fields made before this one.
 */
export function checkField(spec: FieldSpec, faker: Faker, earlier: string[]): void {
  const keys = Object.keys(spec);
  const kinds = keys.filter((k) => (KINDS as readonly string[]).includes(k));
  if (kinds.length !== 1)
    throw new Error(kinds.length ? `give one of ${kinds.join(', ')}, not several` : `give one of ${KINDS.join(', ')}`);
  const kind = kinds[0];
  const extra = keys.filter((k) => k !== kind && !(OPTIONS[kind] ?? []).includes(k));
  if (extra.length) throw new Error(`${extra.join(', ')} cannot go with ${kind}`);
  const s = spec as Record<string, unknown>;
  switch (kind) {
    case 'faker':
      if (typeof fakerMethod(faker, String(s.faker)) !== 'function')
        throw new Error(
          `unknown faker method "${s.faker}" (e.g. person.fullName, location.countryCode, commerce.price)`,
        );
      return;
    case 'oneOf': {
      const values = s.oneOf as unknown[];
      if (!values.length) throw new Error('oneOf needs at least one value');
      if (s.weights && (s.weights as number[]).length !== values.length)
        throw new Error(`weights has ${(s.weights as number[]).length} numbers for ${values.length} values`);
      return;
    }
    case 'int':
    case 'float': {
      const [min, max] = s[kind] as [number, number];
      if (min > max) throw new Error(`${kind}: min ${min} is above max ${max}`);
      return;
    }
    case 'dayTime': {
      const [from, to] = s.dayTime as [number, number];
      if (!(from >= 0 && to <= 24 && from < to))
        throw new Error(`dayTime: hours [${from}, ${to}] must satisfy 0 <= from < to <= 24`);
      return;
    }
    case 'template':
      for (const [, token] of String(s.template).matchAll(TEMPLATE)) {
        const [name, a, b] = token.trim().split(':');
        const ok =
          name === 'digits'
            ? Number.isInteger(Number(a)) && Number(a) > 0
            : name === 'int'
              ? Number.isInteger(Number(a)) && Number.isInteger(Number(b)) && Number(a) <= Number(b)
              : ['year', 'date', 'uuid', 'index'].includes(name)
                ? a === undefined
                : earlier.includes(name) && a === undefined;
        if (!ok)
          throw new Error(
            `template "${s.template}": unknown placeholder {{${token}}} (use digits:N, int:A:B, year, date, uuid, index or an earlier field)`,
          );
      }
      return;
    case 'when': {
      const when = s.when as { field: string };
      if (!earlier.includes(when.field)) throw new Error(`when: field "${when.field}" is not made before this one`);
      checkField(s.then as FieldSpec, faker, earlier);
      if (s.else !== undefined) checkField(s.else as FieldSpec, faker, earlier);
      return;
    }
  }
}

function fakerMethod(faker: Faker, path: string): unknown {
  let owner: unknown;
  let value: unknown = faker;
  for (const key of path.split('.')) {
    owner = value;
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(owner) : undefined;
}

export function makeField(spec: FieldSpec, ctx: FieldContext): unknown {
  const { faker } = ctx;
  if ('const' in spec) return spec.const;
  if (spec.faker !== undefined) {
    const fn = fakerMethod(faker, spec.faker) as ((...a: unknown[]) => unknown) | undefined;
    if (!fn) throw new Error(`unknown faker method "${spec.faker}"`);
    return fn(...(spec.args ?? []));
  }
  if (spec.oneOf !== undefined) {
    if (!spec.weights) return faker.helpers.arrayElement(spec.oneOf);
    return faker.helpers.weightedArrayElement(spec.oneOf.map((value, i) => ({ value, weight: spec.weights![i] ?? 0 })));
  }
  if (spec.int !== undefined) return faker.number.int({ min: spec.int[0], max: spec.int[1] });
  if (spec.float !== undefined) {
    const value = faker.number.float({ min: spec.float[0], max: spec.float[1] });
    const factor = 10 ** (spec.decimals ?? 2);
    return Math.round(value * factor) / factor;
  }
  if (spec.sequence !== undefined) {
    const n = (spec.sequence.start ?? 1) + ctx.index;
    return spec.sequence.prefix !== undefined || spec.sequence.pad
      ? `${spec.sequence.prefix ?? ''}${String(n).padStart(spec.sequence.pad ?? 0, '0')}`
      : n;
  }
  if (spec.uuid !== undefined) return faker.string.uuid();
  if (spec.now !== undefined) return new Date(ctx.now.getTime());
  if (spec.dayTime !== undefined) {
    // A whole second between the hours of the day being made (UTC): sales of a given day, for a backfill too.
    const start = Date.parse(`${ctx.day}T00:00:00Z`) / 1000;
    const [from, to] = spec.dayTime;
    return new Date(
      (start + faker.number.int({ min: Math.round(from * 3600), max: Math.round(to * 3600) - 1 })) * 1000,
    );
  }
  if (spec.template !== undefined) return expandTemplate(spec.template, ctx);
  if (spec.when !== undefined) {
    // then/else are field specs (the schema's $ref checked them; ConfigOf reads them as unknown).
    if (spec.when.in.includes(ctx.record[spec.when.field])) return makeField(spec.then as FieldSpec, ctx);
    return spec.else ? makeField(spec.else as FieldSpec, ctx) : null;
  }
  throw new Error(`unknown field spec ${JSON.stringify(spec)}`);
}

/**
 * `{{digits:N}}` N random digits, `{{int:A:B}}` an integer in [A, B], `{{year}}` the current year (UTC),
 * `{{date}}` the day being made (YYYY-MM-DD), `{{uuid}}`, `{{index}}` the record's position, `{{<field>}}` an earlier field's value.
 */
export function expandTemplate(template: string, ctx: FieldContext): string {
  return template.replace(TEMPLATE, (_m, token: string) => {
    const [name, a, b] = token.trim().split(':');
    switch (name) {
      case 'digits':
        return ctx.faker.string.numeric({ length: Number(a), allowLeadingZeros: true });
      case 'int':
        return String(ctx.faker.number.int({ min: Number(a), max: Number(b) }));
      case 'year':
        return String(ctx.now.getUTCFullYear());
      case 'date':
        return ctx.day;
      case 'uuid':
        return ctx.faker.string.uuid();
      case 'index':
        return String(ctx.index);
      default:
        if (!(name in ctx.record)) throw new Error(`template "${template}": unknown placeholder {{${token}}}`);
        return String(ctx.record[name]);
    }
  });
}

/**
 * A malformed version of a value, for demos of validation and dead-letter: numbers become negative, text with a
 * decimal comma, or null; text becomes empty, `N/A` or null; timestamps become unparseable text or null.
 */
export function corruptValue(value: unknown, faker: Faker): unknown {
  if (typeof value === 'number')
    return faker.helpers.arrayElement([-Math.abs(value || 1), String(value).replace('.', ',') + ' €', null]);
  if (value instanceof Date) return faker.helpers.arrayElement(['not a date', '31/02/2024 25:61', null]);
  if (typeof value === 'string') return faker.helpers.arrayElement(['', 'N/A', null]);
  if (typeof value === 'boolean') return 'maybe';
  return 'N/A';
}

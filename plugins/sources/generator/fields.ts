import type { Faker } from '@faker-js/faker';
import type { Row } from '../../../core/sdk/types.ts';

/** How one field of a generated record is made. Fields are made in declaration order, so `when` and templates can use earlier ones. */
export type FieldSpec =
  | { const: unknown }
  | { faker: string; args?: unknown[] }
  | { oneOf: unknown[]; weights?: number[] }
  | { int: [number, number] }
  | { float: [number, number]; decimals?: number }
  | { sequence: { start?: number; prefix?: string; pad?: number } }
  | { uuid: true }
  | { now: true; jitter?: string }
  | { template: string }
  | { when: { field: string; in: unknown[] }; then: FieldSpec; else?: FieldSpec };

export interface FieldContext {
  faker: Faker;
  /** 0-based position of the record in the whole generated stream. */
  index: number;
  now: Date;
  record: Row;
}

export function makeField(spec: FieldSpec, ctx: FieldContext): unknown {
  const { faker } = ctx;
  if ('const' in spec) return spec.const;
  if ('faker' in spec) {
    const fn = spec.faker.split('.').reduce<unknown>((obj, key) => (obj as Record<string, unknown>)?.[key], faker);
    if (typeof fn !== 'function') throw new Error(`unknown faker method "${spec.faker}"`);
    const value = (fn as (...a: unknown[]) => unknown).apply(undefined, spec.args ?? []);
    return value;
  }
  if ('oneOf' in spec) {
    if (!spec.weights) return faker.helpers.arrayElement(spec.oneOf);
    return faker.helpers.weightedArrayElement(spec.oneOf.map((value, i) => ({ value, weight: spec.weights![i] ?? 0 })));
  }
  if ('int' in spec) return faker.number.int({ min: spec.int[0], max: spec.int[1] });
  if ('float' in spec) {
    const value = faker.number.float({ min: spec.float[0], max: spec.float[1] });
    const factor = 10 ** (spec.decimals ?? 2);
    return Math.round(value * factor) / factor;
  }
  if ('sequence' in spec) {
    const n = (spec.sequence.start ?? 1) + ctx.index;
    return spec.sequence.prefix !== undefined || spec.sequence.pad ? `${spec.sequence.prefix ?? ''}${String(n).padStart(spec.sequence.pad ?? 0, '0')}` : n;
  }
  if ('uuid' in spec) return faker.string.uuid();
  if ('now' in spec) return new Date(ctx.now.getTime());
  if ('template' in spec) return expandTemplate(spec.template, ctx);
  if ('when' in spec) {
    const matches = spec.when.in.includes(ctx.record[spec.when.field]);
    if (matches) return makeField(spec.then, ctx);
    return spec.else ? makeField(spec.else, ctx) : null;
  }
  throw new Error(`unknown field spec ${JSON.stringify(spec)}`);
}

/**
 * `{{digits:N}}` N random digits, `{{int:A:B}}` an integer in [A, B], `{{year}}` the current year,
 * `{{uuid}}`, `{{index}}` the record's position, `{{<field>}}` an earlier field's value.
 */
export function expandTemplate(template: string, ctx: FieldContext): string {
  return template.replace(/\{\{([^}]+)\}\}/g, (_m, token: string) => {
    const [name, a, b] = token.trim().split(':');
    switch (name) {
      case 'digits': return ctx.faker.string.numeric({ length: Number(a), allowLeadingZeros: true });
      case 'int': return String(ctx.faker.number.int({ min: Number(a), max: Number(b) }));
      case 'year': return String(ctx.now.getUTCFullYear());
      case 'uuid': return ctx.faker.string.uuid();
      case 'index': return String(ctx.index);
      default:
        if (!(name in ctx.record)) throw new Error(`template "${template}": unknown placeholder {{${token}}}`);
        return String(ctx.record[name]);
    }
  });
}

// The widget types a dashboard knows, in the order the schema lists them. A new type is a folder next to these
// (its schema fragment, layout rule and card body; see CONTRIBUTING.md, "Adding a chart type") and one line here.
import type { WidgetContribution } from './contribution.ts';
import alert from './alert/index.tsx';
import area from './area/index.tsx';
import bar from './bar/index.tsx';
import kpi from './kpi/index.tsx';
import line from './line/index.tsx';
import pie from './pie/index.tsx';
import table from './table/index.tsx';
import text from './text/index.tsx';
import upload from './upload/index.tsx';

export const WIDGET_TYPES = [
  kpi,
  line,
  area,
  bar,
  pie,
  table,
  alert,
  upload,
  text,
] as const satisfies readonly WidgetContribution[];

/** The name of a registered widget type. */
export type WidgetTypeName = (typeof WIDGET_TYPES)[number]['type'];

const BY_TYPE = new Map<string, WidgetContribution>(WIDGET_TYPES.map((t) => [t.type, t]));

/** The contribution of a widget type; the schema admits only registered types, so an unknown one is a bug. */
export function widgetType(type: string): WidgetContribution {
  const found = BY_TYPE.get(type);
  if (!found) throw new Error(`unknown widget type "${type}" (known: ${[...BY_TYPE.keys()].join(', ')})`);
  return found;
}

/** What the widget types in `T` add to a widget's schema, all of them (for the derived config type). */
export type WidgetTypeProperties<T extends readonly WidgetContribution[]> = UnionToIntersection<
  NonNullable<T[number]['properties']>
>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * The properties every type adds, merged for the widget schema (which is flat: `additionalProperties: false` over
 * all of them). Two types declaring one property must declare the same thing, or a manifest would mean two things.
 */
export function widgetTypeProperties<const T extends readonly WidgetContribution[] = typeof WIDGET_TYPES>(
  types: T = WIDGET_TYPES as unknown as T,
): WidgetTypeProperties<T> {
  const merged: Record<string, unknown> = {};
  const owner: Record<string, string> = {};
  for (const type of types) {
    for (const [name, schema] of Object.entries(type.properties ?? {})) {
      if (name in merged && JSON.stringify(merged[name]) !== JSON.stringify(schema)) {
        throw new Error(`widget types "${owner[name]}" and "${type.type}" declare the property "${name}" differently`);
      }
      merged[name] = schema;
      owner[name] ??= type.type;
    }
  }
  return merged as WidgetTypeProperties<T>;
}

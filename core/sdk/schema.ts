// Config schemas a plugin's TypeScript config type is derived from (json-schema-to-ts), so the two cannot drift, and
// the schema fragments plugins share (durations, time zones) written once.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * The config a plugin receives for its schema: `with:` validated, defaults applied (a property with a default is
 * always there). Declare the schema with `configSchema({...})` so its literal types are kept.
 */
export type ConfigOf<S extends JSONSchema> = FromSchema<S>;

/** A JSON Schema as configSchema() and ConfigOf read it (a fragment's type, e.g. properties a widget type adds). */
export type ConfigSchema = JSONSchema;

/**
 * A part of a config as it may be written, before defaults are applied (a property with a default is optional): for
 * parts code builds itself as well as reads from `with:` (the dashboard's widgets and filters of its auto mode).
 */
export type DeclaredOf<S extends JSONSchema> = FromSchema<S, { keepDefaultedPropertiesOptional: true }>;

/** Keeps a config schema's literal types (for ConfigOf) and checks it is a JSON Schema. */
export function configSchema<const S extends JSONSchema>(schema: S): S {
  return schema;
}

/**
 * A duration string as `parseDuration` reads it (500ms, 15s, 5m, 1h, 1d, 2w): above 0, or from 0 with `zero: true`
 * (an allowed lateness). The other keywords (description, default, examples) are passed through.
 */
export function duration<const E extends Record<string, unknown> = Record<never, never>>(
  extra: E = {} as E,
  options: { zero?: boolean } = {},
): { type: 'string'; format: 'duration' | 'duration-or-zero' } & E {
  return { type: 'string', format: options.zero ? 'duration-or-zero' : 'duration', ...extra };
}

/** An IANA time zone (UTC, Europe/Paris, Asia/Kolkata), as the scheduler and `Intl` read it. */
export function timeZone<const E extends Record<string, unknown> = Record<never, never>>(
  extra: E = {} as E,
): { type: 'string'; format: 'time-zone' } & E {
  return { type: 'string', format: 'time-zone', ...extra };
}

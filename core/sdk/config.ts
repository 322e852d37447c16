import { Ajv2020 as Ajv, type AnySchema, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import countries from 'i18n-iso-countries';
import currencyCodesModule from 'currency-codes';
import type { JSONSchema, PluginSpec } from './types.ts';
import { isDuration, parseDuration } from './duration.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

// XXX ("no currency") and XTS ("testing") are ISO 4217 codes but never the currency of a payment.
const currencyCodes = new Set(currencyCodesModule.codes().filter((code) => code !== 'XXX' && code !== 'XTS'));

/**
 * An ajv with the standard formats plus the ones pipelines validate all the time (`iso3166-alpha2`, `iso4217`),
 * taken from maintained code lists rather than hand-copied enums.
 */
export function createAjv(options: { coerce: boolean; defaults: boolean }): Ajv {
  const instance = newAjv(options);
  // Every schema is checked against the JSON Schema meta-schema before it is compiled. Compiling that meta-schema
  // costs ~0.15 s per ajv instance (a process has several: the manifest's, the checkpoints', each validate step's):
  // all instances check schemas with one, compiled once. Its options are the meta-schema's own (ajv sets them for
  // meta-schemas whatever the instance's coercion and defaults), so the check and its errors are the same.
  instance.validateSchema = (schema: AnySchema, throwOrLogError?: boolean): boolean => {
    const meta = metaSchemaChecker();
    const valid = meta.validateSchema(schema) as boolean;
    instance.errors = meta.errors;
    if (!valid && throwOrLogError) throw new Error(`schema is invalid: ${instance.errorsText()}`);
    return valid;
  };
  return instance;
}

let sharedMeta: Ajv | undefined;
/** The one ajv that checks schemas against the meta-schema (see createAjv). */
function metaSchemaChecker(): Ajv {
  return (sharedMeta ??= newAjv({ coerce: false, defaults: false }));
}

function newAjv(options: { coerce: boolean; defaults: boolean }): Ajv {
  // ownProperties: a record without a field does not get it from what every JS object inherits (toString…).
  const instance = addFormats(
    new Ajv({
      allErrors: true,
      useDefaults: options.defaults,
      coerceTypes: options.coerce,
      strict: false,
      allowUnionTypes: true,
      ownProperties: true,
    }),
  );
  instance.addFormat('iso3166-alpha2', {
    type: 'string',
    validate: (value: string) => /^[A-Z]{2}$/.test(value) && countries.isValid(value),
  });
  instance.addFormat('iso4217', { type: 'string', validate: (value: string) => currencyCodes.has(value) });
  instance.addFormat('duration', {
    type: 'string',
    validate: (value: string) => isDuration(value) && parseDuration(value) > 0,
  });
  instance.addFormat('duration-or-zero', { type: 'string', validate: (value: string) => isDuration(value) });
  instance.addFormat('time-zone', { type: 'string', validate: isTimeZone });
  instance.addFormat('host-ports', {
    type: 'string',
    validate: (value: string) => value === 'embedded' || value.split(',').every((b) => hostPort(b.trim())),
  });
  instance.addFormat('server-url', {
    type: 'string',
    validate: (value: string) => value === 'embedded' || value === '' || serverUrl(value),
  });
  return instance;
}

/** An IANA time zone the runtime knows (Asia/Kolkata, UTC, …), as the scheduler will read it. */
export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const validPort = (port: string) => /^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
const hostPort = (text: string) =>
  /^\[?[^\s/[\]]+\]?:\d+$/.test(text) && validPort(text.slice(text.lastIndexOf(':') + 1));

function serverUrl(value: string): boolean {
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(value);
  if (!port) return false;
  if (port[1] !== undefined && !validPort(port[1])) return false;
  try {
    return Boolean(new URL(value));
  } catch {
    return false;
  }
}

/** What the configuration formats mean, for the error a user reads. */
const FORMAT_HINTS: Record<string, string> = {
  duration: 'a duration above 0, e.g. 500ms, 15s, 5m, 1h, 1d',
  'duration-or-zero': 'a duration, e.g. 0s, 500ms, 15s, 5m, 1h, 1d, 2w',
  'time-zone': 'an IANA time zone, e.g. UTC, Europe/Paris, Asia/Kolkata',
  'host-ports': 'host:port[,host:port…] with ports 1–65535, or "embedded"',
  'server-url': 'a URL such as scheme://user:password@host:port/path with a port 1–65535, or "embedded"',
};

/** Manifest and plugin configs: defaults applied, strings coerced to the declared type (values may be interpolated text). */
export const ajv = createAjv({ coerce: true, defaults: true });

const compiled = new WeakMap<JSONSchema, ReturnType<Ajv['compile']>>();

export function compileSchema(schema: JSONSchema) {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

export interface ConfigError {
  /** JSON pointer-ish path inside the validated value, e.g. ['mode']. */
  path: (string | number)[];
  message: string;
}

/** Validates a step's `with:` against the plugin's schema; returns the value with defaults applied. */
export function validateConfig(
  spec: PluginSpec,
  config: unknown,
  label: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; errors: string[]; details: ConfigError[] } {
  const value = structuredClone(config ?? {}) as Record<string, unknown>;
  const validate = compileSchema(spec.config);
  if (validate(value)) return { ok: true, value };
  const details = (validate.errors ?? []).map((error) => describeAjvError(error, value));
  return { ok: false, details, errors: details.map((d) => `${[label, ...d.path].join('.')}: ${d.message}`) };
}

/** Turns one ajv error into a path and a sentence a user understands (`data`: the validated value, to quote it). */
export function describeAjvError(error: ErrorObject, data?: unknown): ConfigError {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'format': {
      const hint = FORMAT_HINTS[String(params.format)];
      if (!hint || data === undefined) break;
      const value = path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], data);
      return { path, message: `${JSON.stringify(value)} is not ${hint}` };
    }
    case 'additionalProperties':
      return {
        path: [...path, String(params.additionalProperty)],
        message: `unknown property "${params.additionalProperty}"`,
      };
    case 'required':
      return { path, message: `missing required property "${params.missingProperty}"` };
    case 'enum':
      return {
        path,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
  }
  return { path, message: error.message ?? error.keyword };
}

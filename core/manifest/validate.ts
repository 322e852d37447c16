import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.ts';
import { Cron } from 'croner';
import type { PluginCatalog } from '../sdk/container.ts';
import type { ConnectionDeclaration } from '../sdk/connections.ts';
import { ACCESS_AREAS, DEFAULT_AREA_ROLE, type AccessArea, type AccessDeclaration } from './access.ts';
import type { PluginKind } from '../sdk/types.ts';
import { compileSchema, describeAjvError, validateConfig } from '../sdk/config.ts';
import { ManifestError, type LoadedYaml, type ManifestIssue } from './load.ts';
import { parseDuration } from '../sdk/duration.ts';

export const SECTIONS = {
  sources: 'source',
  transforms: 'transform',
  sinks: 'sink',
  views: 'view',
} as const satisfies Record<string, PluginKind>;
type Section = keyof typeof SECTIONS;

export const manifestSchema = JSON.parse(
  readFileSync(join(repoRoot, 'core/manifest/manifest.schema.json'), 'utf8'),
) as Record<string, unknown>;

export interface Policy {
  retries: number;
  backoffMs: number;
  batchSize?: number;
  batchTimeoutMs?: number;
  queue: number;
}

export interface StepDeclaration {
  id: string;
  kind: PluginKind;
  use: string;
  from: string[];
  connection?: string;
  /** `with:` validated, defaults applied. */
  config: Record<string, unknown>;
  schedule?: { cron?: string; timezone?: string; everyMs?: number; runOnStart: boolean };
  trigger?: { upload: boolean; after: string[]; debounceMs: number };
  policy: Policy;
  line: number;
}

export interface ManifestTest {
  name: string;
  /** One transform step, or a chain run in order. */
  step: string | string[];
  input: Record<string, unknown>[];
  expect?: Record<string, unknown>[];
  expectRejects?: { reasons?: string[] }[];
}

export interface Manifest {
  file: string;
  name: string;
  description?: string;
  plugins: string[];
  server: { port: number; host: string; cors: string[] };
  access: AccessDeclaration & { areas: Record<AccessArea, string> };
  /** The dead-letter store: how long entries are kept, and the role that may replay them (default: the dead-letter area's). */
  deadLetter: { retention: { maxAgeMs?: number; maxEntries?: number }; replayRole: string };
  connections: ConnectionDeclaration[];
  steps: StepDeclaration[];
  tests: ManifestTest[];
  yaml: LoadedYaml;
}

/** Validates a loaded manifest against the manifest schema, the plugins' config schemas and the graph rules. */
export function validateManifest(yaml: LoadedYaml, catalog: PluginCatalog): Manifest {
  const issues: ManifestIssue[] = [];
  const at = (path: (string | number)[], message: string) => {
    const { line, col } = yaml.locate(path);
    const origin = yaml.origin(path);
    issues.push({
      file: yaml.file,
      line,
      col,
      path: path.join('.'),
      message: origin ? `${message} (from ${origin})` : message,
    });
  };

  const raw = structuredClone(yaml.value);
  const validate = compileSchema(manifestSchema);
  if (!validate(raw)) {
    for (const error of validate.errors ?? []) {
      const { path, message } = describeAjvError(error, raw);
      // oneOf/pattern noise: ajv reports every branch; keep the errors a user can act on.
      if (error.keyword === 'oneOf') continue;
      at(path, message);
    }
    throw new ManifestError(dedupe(issues));
  }

  const defaults = (raw.defaults ?? {}) as Record<string, unknown>;
  const connections: ConnectionDeclaration[] = [];
  const connectionTypes = catalog.connectionTypes();
  for (const [name, value] of Object.entries((raw.connections ?? {}) as Record<string, Record<string, unknown>>)) {
    const { type, ...config } = value as { type: string };
    const connectionType = connectionTypes.get(type);
    if (!connectionType) {
      at(
        ['connections', name, 'type'],
        `unknown connection type "${type}" (known: ${[...connectionTypes.keys()].join(', ')})`,
      );
      continue;
    }
    const result = validateConfig(
      { kind: 'source', name: type, summary: '', stability: 'stable', config: connectionType.config },
      { type, ...config },
      `connections.${name}`,
    );
    if (!result.ok) for (const d of result.details) at(['connections', name, ...d.path], d.message);
    else {
      const { type: _type, ...validated } = result.value;
      connections.push({ name, type, config: validated, line: yaml.locate(['connections', name]).line });
    }
  }

  const steps: StepDeclaration[] = [];
  const sectionOf = new Map<string, Section>();
  /** Steps already reported (unknown plugin): graph checks stay quiet about them. */
  const broken = new Set<string>();
  const disabled = disabledSteps(raw);
  for (const section of Object.keys(SECTIONS) as Section[]) {
    for (const [id, value] of Object.entries((raw[section] ?? {}) as Record<string, Record<string, unknown>>)) {
      const here = [section, id];
      if (sectionOf.has(id)) {
        at(here, `step id "${id}" is already used under ${sectionOf.get(id)}`);
        continue;
      }
      sectionOf.set(id, section);
      if (disabled.has(id)) continue;
      const kind = SECTIONS[section];
      const use = value.use as string;
      const definition = catalog.find(kind, use);
      if (!definition) {
        const known = catalog.names(kind);
        at(
          [...here, 'use'],
          `unknown ${kind} plugin "${use}" (known ${kind}s: ${known.join(', ') || 'none'}; add its npm package under plugins:)`,
        );
        broken.add(id);
        continue;
      }
      const config = validateConfig(definition.spec, value.with ?? {}, `${section}.${id}.with`);
      if (!config.ok) for (const d of config.details) at([...here, 'with', ...d.path], d.message);

      const connection = value.connection as string | undefined;
      const allowed = definition.spec.connectionTypes ?? [];
      if (connection) {
        const declared = connections.find((c) => c.name === connection);
        if (!declared) {
          if (!(raw.connections as Record<string, unknown> | undefined)?.[connection])
            at([...here, 'connection'], `connection "${connection}" is not declared under connections`);
        } else if (!allowed.includes(declared.type)) {
          at(
            [...here, 'connection'],
            `plugin ${use} cannot use a ${declared.type} connection (it takes: ${allowed.join(', ') || 'none'})`,
          );
        }
      } else if (definition.spec.connectionRequired) {
        at(here, `plugin ${use} needs a connection: (of type ${allowed.join(' or ')})`);
      }

      const schedule = value.schedule as
        { cron?: string; timezone?: string; every?: string; runOnStart?: boolean } | undefined;
      if (schedule && kind !== 'source') at([...here, 'schedule'], 'only sources can be scheduled');
      if (schedule?.cron) {
        try {
          new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).stop();
        } catch (error) {
          at([...here, 'schedule', 'cron'], `invalid cron or time zone: ${(error as Error).message}`);
        }
      }
      if (schedule && !schedule.cron && !schedule.every) at([...here, 'schedule'], 'a schedule needs cron or every');
      const trigger = value.trigger as { upload?: boolean; after?: string | string[]; debounce?: string } | undefined;
      if (trigger && kind !== 'source') at([...here, 'trigger'], 'only sources can be triggered');

      const policy = { ...defaults, ...(value.policy as object) } as Record<string, unknown>;
      steps.push({
        id,
        kind,
        use,
        from:
          value.from === undefined
            ? []
            : ([] as string[]).concat(value.from as string).filter((input) => !disabled.has(input)),
        connection,
        config: config.ok ? config.value : {},
        schedule: schedule
          ? {
              cron: schedule.cron,
              timezone: schedule.timezone,
              everyMs: schedule.every ? parseDuration(schedule.every) : undefined,
              runOnStart: schedule.runOnStart ?? !schedule.cron,
            }
          : undefined,
        trigger: trigger
          ? {
              upload: trigger.upload ?? false,
              after: ([] as string[]).concat(trigger.after ?? []),
              debounceMs: parseDuration(trigger.debounce ?? '1s'),
            }
          : undefined,
        policy: {
          retries: (policy.retries as number | undefined) ?? 3,
          backoffMs: parseDuration((policy.backoff as string | undefined) ?? '200ms'),
          batchSize: policy.batchSize as number | undefined,
          batchTimeoutMs: policy.batchTimeout ? parseDuration(policy.batchTimeout as string) : undefined,
          queue: (policy.queue as number | undefined) ?? 2,
        },
        line: yaml.locate(here).line,
      });
    }
  }

  checkGraph(steps, sectionOf, broken, at);
  // A connection whose every step is switched off (e.g. the database of a source turned off by a variable) is not
  // opened; one no step names is (the manifest declares it for a reason: /readyz checks it). A step uses its
  // `connection:` and any `connection` its config names (e.g. an s3 source's notifications).
  const connectionsOf = (step: { connection?: unknown; config?: unknown; with?: unknown }) => [
    step.connection,
    ...namedConnections(step.config ?? step.with),
  ];
  const used = new Set(steps.flatMap(connectionsOf));
  const usedBySwitchedOff = new Set(
    (Object.keys(SECTIONS) as Section[]).flatMap((section) =>
      Object.entries((raw[section] ?? {}) as Record<string, { connection?: unknown; with?: unknown }>)
        .filter(([id]) => disabled.has(id))
        .flatMap(([, step]) => connectionsOf(step)),
    ),
  );
  const opened = connections.filter((c) => used.has(c.name) || !usedBySwitchedOff.has(c.name));
  const access = (raw.access ?? {}) as { roles?: AccessDeclaration['roles']; public?: string[] } & Partial<
    Record<AccessArea, string>
  >;
  const roles = access.roles ?? {};
  const declaredRoles = Object.keys(roles).join(', ') || 'none';
  for (const area of ACCESS_AREAS) {
    if (access[area] !== undefined && !roles[access[area]])
      at(['access', area], `role "${access[area]}" is not declared under access.roles (declared: ${declaredRoles})`);
  }
  const replayRole = (raw.deadLetter as { replayRole?: unknown } | undefined)?.replayRole;
  if (typeof replayRole === 'string' && Object.keys(roles).length && !roles[replayRole])
    at(
      ['deadLetter', 'replayRole'],
      `role "${replayRole}" is not declared under access.roles (declared: ${declaredRoles})`,
    );
  for (const [name, role] of Object.entries(roles)) {
    (role.includes ?? []).forEach((included, i) => {
      if (!roles[included])
        at(
          ['access', 'roles', name, 'includes', i],
          `role "${included}" is not declared under access.roles (declared: ${declaredRoles})`,
        );
    });
  }
  // A test of a step switched off (enabled: false, e.g. a simulator turned off by a variable) cannot run: it is left out.
  const runnable = (test: ManifestTest) => !([] as string[]).concat(test.step).some((id) => disabled.has(id));
  ((raw.tests ?? []) as ManifestTest[]).forEach((test, i) => {
    if (!runnable(test)) return;
    for (const id of ([] as string[]).concat(test.step)) {
      if (!steps.some((s) => s.id === id && s.kind === 'transform'))
        at(['tests', i, 'step'], `"${id}" is not a transform step of this manifest`);
    }
  });
  const tests = ((raw.tests ?? []) as ManifestTest[]).filter(runnable);
  if (issues.length) throw new ManifestError(dedupe(issues));

  const server = (raw.server ?? {}) as { port?: number; host?: string; cors?: string[] };
  const deadLetter = (raw.deadLetter ?? {}) as {
    retention?: { maxAge?: string; maxEntries?: number };
    replayRole?: string;
  };
  return {
    file: yaml.file,
    name: raw.name as string,
    description: raw.description as string | undefined,
    plugins: (raw.plugins ?? []) as string[],
    server: { port: server.port ?? 8080, host: server.host ?? '127.0.0.1', cors: server.cors ?? [] },
    access: {
      roles,
      public: access.public ?? [],
      areas: Object.fromEntries(ACCESS_AREAS.map((area) => [area, access[area] ?? DEFAULT_AREA_ROLE])) as Record<
        AccessArea,
        string
      >,
    },
    connections: opened,
    deadLetter: {
      retention: {
        maxAgeMs: deadLetter.retention?.maxAge ? parseDuration(deadLetter.retention.maxAge) : undefined,
        maxEntries: deadLetter.retention?.maxEntries,
      },
      replayRole: deadLetter.replayRole ?? access['dead-letter'] ?? DEFAULT_AREA_ROLE,
    },
    steps,
    tests,
    yaml,
  };
}

type Enabled = boolean | { if: string; in: string[] };

/** The values of every `connection` property inside a step's config. */
function namedConnections(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === 'connection' && typeof v === 'string' ? [v] : namedConnections(v),
  );
}

/** `enabled:` as written: a boolean, or `{ if: <text>, in: [values] }` (on when the text is one of the values). */
function isEnabled(enabled: Enabled | undefined): boolean {
  if (enabled === undefined || typeof enabled === 'boolean') return enabled !== false;
  return enabled.in.includes(String(enabled.if));
}

/**
 * `enabled: false` switches a step off, and with it every transform and sink that only it feeds
 * (so turning a simulator off needs one line, not one per step). A step fed by others too keeps running
 * without the disabled input.
 */
function disabledSteps(raw: Record<string, unknown>): Set<string> {
  const all = (Object.keys(SECTIONS) as Section[]).flatMap((section) =>
    Object.entries((raw[section] ?? {}) as Record<string, { enabled?: Enabled; from?: string | string[] }>).map(
      ([id, step]) => ({ id, section, step }),
    ),
  );
  const disabled = new Set(all.filter((s) => !isEnabled(s.step.enabled)).map((s) => s.id));
  for (let changed = true; changed;) {
    changed = false;
    for (const { id, section, step } of all) {
      const from = step.from === undefined ? [] : ([] as string[]).concat(step.from);
      if (disabled.has(id) || section === 'views' || section === 'sources' || from.length === 0) continue;
      if (from.every((input) => disabled.has(input))) {
        disabled.add(id);
        changed = true;
      }
    }
  }
  return disabled;
}

function checkGraph(
  steps: StepDeclaration[],
  sectionOf: Map<string, Section>,
  broken: Set<string>,
  at: (path: (string | number)[], message: string) => void,
) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const sectionFor = (s: StepDeclaration) => sectionOf.get(s.id)!;
  for (const step of steps) {
    const here = [sectionFor(step), step.id];
    if (step.kind === 'source' && step.from.length)
      at([...here, 'from'], 'a source reads from outside the pipeline; it cannot have from:');
    if ((step.kind === 'transform' || step.kind === 'sink') && step.from.length === 0)
      at(here, `a ${step.kind} needs from: (the step(s) it reads)`);
    for (const input of step.from) {
      const upstream = byId.get(input);
      if (broken.has(input)) continue;
      if (!upstream) {
        at(
          [...here, 'from'],
          sectionOf.has(input)
            ? `"${input}" is disabled`
            : `unknown step "${input}" (steps: ${[...byId.keys()].join(', ')})`,
        );
        continue;
      }
      if (step.kind !== 'view' && (upstream.kind === 'sink' || upstream.kind === 'view')) {
        at(
          [...here, 'from'],
          `a ${step.kind} cannot read from ${upstream.kind} "${input}": only sources and transforms produce records`,
        );
      }
    }
    for (const after of step.trigger?.after ?? [])
      if (!sectionOf.has(after)) at([...here, 'trigger', 'after'], `unknown step "${after}"`);
  }
  // Cycles among transforms (sources have no inputs, sinks/views no outputs, so only transforms can loop).
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(id)), id];
      const step = byId.get(id)!;
      at([sectionFor(step), id, 'from'], `cycle: ${cycle.join(' → ')}`);
      return;
    }
    state.set(id, 'visiting');
    for (const input of byId.get(id)?.from ?? [])
      if (byId.get(input)?.kind === 'transform') visit(input, [...trail, id]);
    state.set(id, 'done');
  };
  for (const step of steps) visit(step.id, []);
}

function dedupe(issues: ManifestIssue[]): ManifestIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.col}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

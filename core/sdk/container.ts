import 'reflect-metadata';
import { Container, type ContainerModule } from 'inversify';
import { TOKENS } from './tokens.ts';
import type {
  Access,
  Clock,
  ConnectionType,
  Connections,
  DeadLetters,
  Logger,
  Metrics,
  PipelineEvents,
  PipelineStatus,
  PluginDefinition,
  PluginKind,
  PluginLoader,
  StepInfo,
  StepState,
  Triggers,
} from './types.ts';

/** Per-step persistent state: the runtime's checkpoint store (state.json), or memory in the test kit. */
export interface StepStates {
  forStep(step: string): StepState;
}

/** The core services every step can inject. */
export interface CoreServices {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  connections: Connections;
  state: StepStates;
  events: PipelineEvents;
  status: PipelineStatus;
  deadLetters: DeadLetters;
  triggers: Triggers;
  access: Access;
  stateDir: string;
}

/**
 * Loads plugin modules into a container and indexes their contributions. A plugin contributed by name
 * (`lazyPluginModule`) is imported by `require(kind, name)` (a manifest's steps, when it is loaded) or `requireAll()`
 * (listing and documenting every plugin); `plugins()` and `find()` answer with the plugins imported so far.
 */
export class PluginCatalog {
  readonly container = new Container();
  private readonly loading = new Map<PluginLoader, Promise<void>>();

  constructor(modules: ContainerModule[]) {
    this.container.load(...modules);
  }

  plugins(): PluginDefinition[] {
    return this.container.isBound(TOKENS.Plugin) ? this.container.getAll<PluginDefinition>(TOKENS.Plugin) : [];
  }

  /** The names of every plugin of a kind, imported or not. */
  names(kind: PluginKind): string[] {
    const names = this.plugins()
      .filter((p) => p.spec.kind === kind)
      .map((p) => p.spec.name)
      .concat(
        this.loaders()
          .filter((l) => l.kind === kind)
          .map((l) => l.name),
      );
    return [...new Set(names)];
  }

  connectionTypes(): Map<string, ConnectionType> {
    const all = this.container.isBound(TOKENS.ConnectionType)
      ? this.container.getAll<ConnectionType>(TOKENS.ConnectionType)
      : [];
    return new Map(all.map((t) => [t.type, t]));
  }

  find(kind: PluginKind, name: string): PluginDefinition | undefined {
    return this.plugins().find((p) => p.spec.kind === kind && p.spec.name === name);
  }

  /** Loads more modules (a plugin package's); a plugin name already taken, by a built-in or another package, fails. */
  load(modules: ContainerModule[]): void {
    this.container.load(...modules);
    const name = (p: { kind: PluginKind; name: string }) => `${p.kind} "${p.name}"`;
    const seen = new Set<string>();
    const taken = new Set(this.loaders().map(name));
    // An imported built-in is both a plugin and a loader's name: counted once.
    const imported = new Set([...this.loading.keys()].map(name));
    for (const { spec } of this.plugins()) {
      const key = name(spec);
      if (seen.has(key) || (taken.has(key) && !imported.has(key)))
        throw new Error(`the ${key} is contributed twice (a built-in plugin or another package has that name)`);
      seen.add(key);
    }
  }

  /** Imports the plugin of this kind and name when it is contributed by name and not imported yet. */
  async require(kind: PluginKind, name: string): Promise<void> {
    if (this.find(kind, name)) return;
    await Promise.all(
      this.loaders()
        .filter((l) => l.kind === kind && l.name === name)
        .map((l) => this.import(l)),
    );
  }

  /** Imports every plugin contributed by name. */
  async requireAll(): Promise<void> {
    await Promise.all(this.loaders().map((l) => this.import(l)));
  }

  private loaders(): PluginLoader[] {
    return this.container.isBound(TOKENS.PluginLoader) ? this.container.getAll<PluginLoader>(TOKENS.PluginLoader) : [];
  }

  private import(loader: PluginLoader): Promise<void> {
    let loading = this.loading.get(loader);
    if (!loading) {
      loading = loader.load().then(({ default: module }) => {
        if (!module || typeof (module as { load?: unknown }).load !== 'function')
          throw new Error(`plugin ${loader.kind}/${loader.name}: its module's default export is not a ContainerModule`);
        this.container.load(module as ContainerModule);
        const loaded = this.find(loader.kind, loader.name);
        if (!loaded)
          throw new Error(
            `plugin ${loader.kind}/${loader.name}: its module contributes no ${loader.kind} of that name`,
          );
      });
      this.loading.set(loader, loading);
    }
    return loading;
  }
}

/** Binds the core services once per pipeline run, as a child of the catalog. */
export function createRuntimeContainer(catalog: PluginCatalog, services: CoreServices): Container {
  const container = new Container({ parent: catalog.container });
  container.bind(TOKENS.Metrics).toConstantValue(services.metrics);
  container.bind(TOKENS.Clock).toConstantValue(services.clock);
  container.bind(TOKENS.Connections).toConstantValue(services.connections);
  container.bind(TOKENS.Events).toConstantValue(services.events);
  container.bind(TOKENS.Status).toConstantValue(services.status);
  container.bind(TOKENS.DeadLetters).toConstantValue(services.deadLetters);
  container.bind(TOKENS.Triggers).toConstantValue(services.triggers);
  container.bind(TOKENS.Access).toConstantValue(services.access);
  container.bind(TOKENS.StateDir).toConstantValue(services.stateDir);
  return container;
}

/** Constructs the plugin of one step in its own child container, with step-scoped config, logger and state. */
export function instantiateStep<T>(
  runtime: Container,
  definition: PluginDefinition,
  step: StepInfo,
  config: Record<string, unknown>,
  services: Pick<CoreServices, 'logger' | 'state'>,
): T {
  const scope = new Container({ parent: runtime });
  scope.bind(TOKENS.Config).toConstantValue(config);
  scope.bind(TOKENS.Step).toConstantValue(step);
  scope.bind(TOKENS.Logger).toConstantValue(services.logger.child({ step: step.id }));
  scope.bind(TOKENS.State).toConstantValue(services.state.forStep(step.id));
  scope.bind(definition.implementation).toSelf().inSingletonScope();
  return scope.get<T>(definition.implementation as never);
}

// Injection tokens. Plugin constructors take core services with explicit `@inject(TOKENS.X)`
// (tsx/esbuild do not emit decorator metadata, so nothing is inferred from parameter types).
export const TOKENS = {
  /** Multi-injected: every PluginDefinition contributed by a ContainerModule. */
  Plugin: Symbol.for('platform.Plugin'),
  /**
   * Multi-injected: a plugin known by kind and name whose module (spec and class) is imported when a manifest uses
   * it (`lazyPluginModule`); the built-in plugins are contributed this way.
   */
  PluginLoader: Symbol.for('platform.PluginLoader'),
  /** Multi-injected: every ConnectionType contributed by a ContainerModule. */
  ConnectionType: Symbol.for('platform.ConnectionType'),
  /** The step's validated `with:` config, defaults applied. */
  Config: Symbol.for('platform.Config'),
  Step: Symbol.for('platform.Step'),
  Logger: Symbol.for('platform.Logger'),
  Metrics: Symbol.for('platform.Metrics'),
  Clock: Symbol.for('platform.Clock'),
  Connections: Symbol.for('platform.Connections'),
  /** Step-scoped persistent state (checkpoint store). */
  State: Symbol.for('platform.State'),
  Events: Symbol.for('platform.Events'),
  Status: Symbol.for('platform.Status'),
  DeadLetters: Symbol.for('platform.DeadLetters'),
  Triggers: Symbol.for('platform.Triggers'),
  Access: Symbol.for('platform.Access'),
  /** The pipeline's state folder (checkpoints, dead letters, embedded data). */
  StateDir: Symbol.for('platform.StateDir'),
} as const;

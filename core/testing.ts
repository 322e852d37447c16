// This repository's test kit: the SDK's (`@platform/sdk/testing`, core/sdk/testing.ts) with every built-in
// connection type and the runtime's own stores (dead letters, metrics, checkpoints in the step's state folder), so a
// built-in plugin's test runs its step as a pipeline would. Plugin packages use the SDK's kit itself.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerModule } from 'inversify';
import { builtinConnectionModules } from '../connections/index.ts';
import * as kit from './sdk/testing.ts';
import type { PluginKind } from './sdk/types.ts';
import { DeadLetterStore } from './runtime/deadletter.ts';
import { PromMetrics } from './runtime/metrics.ts';
import { StateStore } from './runtime/state.ts';

export {
  EventHub,
  MemoryLogger,
  expectErrorClass,
  freePort,
  processLikeRuntime,
  readAll,
  writeLikeRuntime,
  type TestStep,
  type TestStepOptions,
} from './sdk/testing.ts';
/** The runtime's access control, for views' tests of who may see what. */
export { AccessControl } from './runtime/access.ts';

/** `createTestStep` of the SDK's kit, with the built-in connection types and the runtime's stores. */
export function createTestStep<T>(
  module: ContainerModule,
  kind: PluginKind,
  config: Record<string, unknown>,
  options: kit.TestStepOptions = {},
): Promise<kit.TestStep<T>> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'platform-test-'));
  return kit.createTestStep<T>(module, kind, config, {
    ...options,
    stateDir,
    connectionTypes: [...builtinConnectionModules, ...(options.connectionTypes ?? [])],
    services: {
      metrics: new PromMetrics(),
      state: new StateStore(stateDir),
      deadLetters: new DeadLetterStore(stateDir),
      ...options.services,
    },
  });
}

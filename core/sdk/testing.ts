// `@platform/sdk/testing`: the test kit for plugin packages (implemented in core/testing.ts).
export { freePort, createTestStep, expectErrorClass, processLikeRuntime, readAll, writeLikeRuntime, type TestStep, type TestStepOptions } from '../testing.ts';

// `@platform/sdk/testing`: the test kit for plugin packages (implemented in core/testing.ts).
export { createTestStep, readAll, type TestStep, type TestStepOptions } from '../testing.ts';

// Types of cli/node-flags.mjs (plain JavaScript: cli/bin.mjs imports it before any TypeScript is loaded).
export declare const PLATFORM_NODE_FLAGS: readonly string[];
export declare function platformNodeArgs(env?: NodeJS.ProcessEnv): string[];
export declare function relaunchArgs(execArgv?: string[], env?: NodeJS.ProcessEnv): string[] | null;
export declare function describeRuntime(): string;

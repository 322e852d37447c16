// Runs the `platform` command the way users do: a separate Node process through cli/bin.mjs.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { platformNodeArgs } from '../cli/node-flags.mjs';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

/** Node's arguments for `platform <args>` under `env`: the command's own Node options (cli/node-flags.mjs) first. */
export function platformArgs(args: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return [...platformNodeArgs(env), bin, ...args];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function platform(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    const child = spawn(process.execPath, platformArgs(args, env), { cwd: options.cwd ?? repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`platform ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `platform run` as a server and resolves with its URL once it listens. */
export function startPlatform(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    const child = spawn(process.execPath, platformArgs(args, env), { cwd: options.cwd ?? repoRoot, env });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`platform ${args.join(' ')} did not start listening\n${output}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (d: Buffer) => {
      output += d;
      const match = /serving (http:\/\/[^/\s]+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          child,
          output: () => output,
          stop: (signal = 'SIGTERM') =>
            new Promise((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
              child.once('close', (code) => done(code));
              child.kill(signal);
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code} before listening\n${output}`));
    });
  });
}

import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ManifestError } from '../core/manifest/index.ts';
import { errorMessage } from '../core/sdk/index.ts';
import { ConsoleLogger, type LogFormat } from '../core/sdk/logger.ts';
import { runCommand } from './commands/run.ts';
import { validateCommand } from './commands/validate.ts';
import { pluginsCommand, docsCommand } from './commands/plugins.ts';
import { testCommand } from './commands/test.ts';
import { newPluginCommand } from './commands/new-plugin.ts';
import { deadLetterCommand } from './commands/dead-letter.ts';

export const EXIT = { ok: 0, failure: 1, invalid: 2 } as const;

const USAGE = `Usage: platform <command> [options]

Commands:
  run <manifest> [--once] [--date YYYY-MM-DD] [--port N] [--state-dir DIR]
                               Run a pipeline and serve its views (--once: run every source once, print a summary, exit)
  validate <manifest...>       Check manifests; errors as file:line:col path: message
  plugins [--json]             List the plugins with their config schemas
  docs [--out FILE]            Write Markdown docs of every plugin (default docs/plugins.md)
  test <manifest>              Run the config unit tests declared under tests:
  dead-letter list|show|replay <manifest> [--step S] [--reason TEXT] [--since T] [id...]
                               Rejected records: list them, show them whole, or replay them through the step
                               that rejected them once the manifest or the data is fixed (--limit N, --json)
  new plugin <kind> <name> [--dir DIR]
                               Scaffold a standalone plugin package (kind: source, transform, sink, view) in DIR
                               (default: the current folder; inside this repository, next to it)

Options:
  --log-format human|json      Log lines for people (default) or machines
  --version                    Versions, the Node options in effect and V8's heap limit
  -h, --help                   This help

Exit codes: 0 ok, 1 runtime failure, 2 invalid input.`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        once: { type: 'boolean' },
        date: { type: 'string' },
        port: { type: 'string' },
        'state-dir': { type: 'string' },
        'log-format': { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        dir: { type: 'string' },
        step: { type: 'string', multiple: true },
        reason: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n\n${USAGE}\n`);
    return EXIT.invalid;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE + '\n');
    return command || values.help ? EXIT.ok : EXIT.invalid;
  }
  const format = (values['log-format'] ?? 'human') as LogFormat;
  if (format !== 'human' && format !== 'json') {
    process.stderr.write(`--log-format must be human or json (got "${format}")\n`);
    return EXIT.invalid;
  }
  const logger = new ConsoleLogger(format);
  try {
    switch (command) {
      case 'run':
        if (args.length !== 1) return usage('run takes one manifest');
        if (values.date && !/^\d{4}-\d{2}-\d{2}$/.test(values.date))
          return usage(`--date must be YYYY-MM-DD (got "${values.date}")`);
        if (values.port && !/^\d+$/.test(values.port)) return usage(`--port must be a number (got "${values.port}")`);
        return await runCommand(args[0], {
          once: values.once ?? false,
          date: values.date,
          port: values.port ? Number(values.port) : undefined,
          stateDir: values['state-dir'],
          logger,
        });
      case 'validate':
        if (args.length === 0) return usage('validate takes one or more manifests');
        return await validateCommand(args);
      case 'plugins':
        return await pluginsCommand(values.json ?? false);
      case 'docs':
        return await docsCommand(values.out ?? 'docs/plugins.md');
      case 'test':
        if (args.length !== 1) return usage('test takes one manifest');
        return await testCommand(args[0], logger, values['state-dir']);
      case 'dead-letter': {
        const [action, manifest, ...ids] = args;
        if (!['list', 'show', 'replay'].includes(action) || !manifest)
          return usage(
            'usage: platform dead-letter list|show|replay <manifest> [--step S] [--reason TEXT] [--since T] [id...]',
          );
        if (values.since && Number.isNaN(new Date(values.since).getTime()))
          return usage(`--since must be an ISO date or time (got "${values.since}")`);
        if (values.limit && !/^\d+$/.test(values.limit))
          return usage(`--limit must be a number (got "${values.limit}")`);
        if (ids.some((id) => !/^\d+$/.test(id)))
          return usage(`dead-letter ids are numbers (got ${ids.filter((id) => !/^\d+$/.test(id)).join(', ')})`);
        return await deadLetterCommand(action, manifest, {
          steps: values.step?.flatMap((s) => s.split(',')).filter(Boolean),
          reason: values.reason,
          since: values.since,
          ids: ids.length ? ids.map(Number) : undefined,
          limit: values.limit ? Number(values.limit) : action === 'show' ? 20 : 100,
          json: values.json ?? false,
          stateDir: values['state-dir'],
          logger,
        });
      }
      case 'new':
        if (args[0] !== 'plugin' || args.length !== 3)
          return usage('usage: platform new plugin <source|transform|sink|view> <name>');
        return await newPluginCommand(args[1], args[2], values.dir);
      default:
        return usage(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ManifestError) {
      process.stderr.write(error.message + '\n');
      return EXIT.invalid;
    }
    logger.error(errorMessage(error));
    return EXIT.failure;
  }
}

function usage(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  return EXIT.invalid;
}

import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Row,
  type Sink,
} from '../../../core/sdk/index.ts';

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: {
      type: 'integer',
      minimum: 0,
      description: 'Print at most this many records in all (the others are accepted silently).',
      examples: [20],
    },
    prefix: { type: 'string', default: '', description: 'Text before each line.', examples: ['orders: '] },
  },
});

type ConsoleConfig = ConfigOf<typeof CONFIG>;

/** Prints records as JSON lines on standard output (timestamps as ISO strings), for trying a pipeline out. */
@injectable()
export class ConsoleSink implements Sink {
  private printed = 0;
  constructor(@inject(TOKENS.Config) private readonly config: ConsoleConfig) {}

  async write(records: Row[]): Promise<void> {
    const room = this.config.limit === undefined ? records.length : Math.max(0, this.config.limit - this.printed);
    const shown = records.slice(0, room);
    if (!shown.length) return;
    this.printed += shown.length;
    process.stdout.write(shown.map((record) => `${this.config.prefix}${JSON.stringify(record, jsonSafe)}\n`).join(''));
  }
}

/** BigInts (which JSON cannot hold) as their decimal text. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export default pluginModule(
  {
    kind: 'sink',
    name: 'console',
    stability: 'stable',
    summary: 'Prints records as JSON lines on standard output.',
    config: CONFIG,
    examples: [
      { title: 'Peek at the first records', yaml: 'peek:\n  use: console\n  from: cleaned\n  with: { limit: 20 }\n' },
    ],
  },
  ConsoleSink,
);

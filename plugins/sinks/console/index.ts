import { inject, injectable, pluginModule, TOKENS, type Row, type Sink } from '../../../core/sdk/index.ts';

/** Prints records as JSON lines on standard output, for trying a pipeline out. */
@injectable()
export class ConsoleSink implements Sink {
  private printed = 0;
  constructor(@inject(TOKENS.Config) private readonly config: { limit?: number; prefix: string }) {}

  async write(records: Row[]): Promise<void> {
    for (const record of records) {
      if (this.config.limit !== undefined && this.printed >= this.config.limit) return;
      this.printed++;
      process.stdout.write(`${this.config.prefix}${JSON.stringify(record)}\n`);
    }
  }
}

export default pluginModule({
  kind: 'sink', name: 'console', stability: 'stable',
  summary: 'Prints records as JSON lines on standard output.',
  config: {
    type: 'object', additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 0, description: 'Print at most this many records in all.' },
      prefix: { type: 'string', default: '', description: 'Text before each line.' },
    },
  },
}, ConsoleSink);

import type { Logger } from './types.ts';

export type LogFormat = 'human' | 'json';
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** Writes human-readable lines to stderr by default, or one JSON object a line for machines. */
export class ConsoleLogger implements Logger {
  constructor(
    private readonly format: LogFormat = 'human',
    private readonly minLevel: Level = (process.env.PLATFORM_LOG_LEVEL as Level) || 'info',
    private readonly fields: Record<string, unknown> = {},
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  debug(msg: string, fields?: Record<string, unknown>) {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>) {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>) {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>) {
    this.log('error', msg, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    return new ConsoleLogger(this.format, this.minLevel, { ...this.fields, ...fields }, this.write);
  }

  private log(level: Level, msg: string, extra?: Record<string, unknown>) {
    if (LEVELS[level] < LEVELS[this.minLevel]) return;
    const all = { ...this.fields, ...extra };
    if (this.format === 'json') {
      this.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }));
      return;
    }
    const { step, ...rest } = all;
    const time = new Date().toISOString().slice(11, 19);
    const tail = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    this.write(`${time} ${level.toUpperCase().padEnd(5)} ${step ? `[${step}] ` : ''}${msg}${tail ? '  ' + tail : ''}`);
  }
}

/** Collects log lines in memory; for tests. */
export class MemoryLogger extends ConsoleLogger {
  readonly lines: string[];
  constructor(lines: string[] = []) {
    super('human', 'debug', {}, (line) => lines.push(line));
    this.lines = lines;
  }
}

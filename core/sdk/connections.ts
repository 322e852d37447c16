import type { ConnectionType, Connections, Logger, OpenConnection } from './types.ts';

export interface ConnectionDeclaration {
  name: string;
  type: string;
  config: Record<string, unknown>;
  line?: number;
}

/** Opens each declared connection lazily, once, and closes them all at shutdown. */
export class ConnectionRegistry implements Connections {
  private readonly opened = new Map<string, Promise<OpenConnection<unknown>>>();
  private readonly descriptions = new Map<string, string>();

  constructor(
    private readonly declarations: ConnectionDeclaration[],
    private readonly types: Map<string, ConnectionType>,
    private readonly stateDir: string,
    private readonly logger: Logger,
    private readonly manifestFile = 'manifest',
  ) {}

  async get<T>(name: string, type?: string): Promise<T> {
    return (await this.open(name, type)).client as T;
  }

  async open(name: string, type?: string): Promise<OpenConnection<unknown>> {
    const declaration = this.declarations.find((d) => d.name === name);
    if (!declaration)
      throw new Error(
        `connection "${name}" is not declared in ${this.manifestFile} (declared: ${this.declarations.map((d) => d.name).join(', ') || 'none'})`,
      );
    if (type && declaration.type !== type)
      throw new Error(`connection "${name}" is of type ${declaration.type}, but ${type} is needed`);
    let opening = this.opened.get(name);
    if (!opening) {
      const connectionType = this.types.get(declaration.type);
      if (!connectionType)
        throw new Error(
          `connection "${name}": unknown type "${declaration.type}" (known: ${[...this.types.keys()].join(', ')})`,
        );
      opening = connectionType
        .open(declaration.config, { name, stateDir: this.stateDir, logger: this.logger.child({ connection: name }) })
        .then((open) => {
          this.descriptions.set(name, open.description);
          return open;
        })
        .catch((error) => {
          this.opened.delete(name); // let a later call retry once the server is back
          throw new Error(
            `connection "${name}" (${declaration.type}, ${this.manifestFile}:${declaration.line ?? '?'}): ${(error as Error).message}`,
          );
        });
      this.opened.set(name, opening);
    }
    return opening;
  }

  /** Whether a declared connection is embedded, as its type says (an unknown type is not: it fails to open anyway). */
  private embedded(declaration: ConnectionDeclaration): boolean {
    return this.types.get(declaration.type)?.embedded(declaration.config) ?? false;
  }

  /** Each connection's mode and, for an embedded one, where it keeps its data (undefined: in memory). */
  stores(): { name: string; type: string; embedded: boolean; path?: string }[] {
    return this.declarations.map((d) => ({
      name: d.name,
      type: d.type,
      embedded: this.embedded(d),
      path: this.types.get(d.type)?.storePath?.(d.config, { stateDir: this.stateDir }),
    }));
  }

  list() {
    return this.declarations.map((d) => ({
      name: d.name,
      type: d.type,
      embedded: this.embedded(d),
      description: this.descriptions.get(d.name) ?? '',
    }));
  }

  /** Opens every connection: one banner line each (embedded or real), the ones opened, and the errors of the others. */
  async describeAll(): Promise<{
    lines: { name: string; line: string }[];
    opened: { name: string; type: string; embedded: boolean; description: string }[];
    errors: { name: string; embedded: boolean; error: Error }[];
  }> {
    const lines: { name: string; line: string }[] = [];
    const opened: { name: string; type: string; embedded: boolean; description: string }[] = [];
    const errors: { name: string; embedded: boolean; error: Error }[] = [];
    for (const d of this.declarations) {
      try {
        const open = await this.open(d.name);
        lines.push({
          name: d.name,
          line: `${d.name} (${d.type}): ${open.embedded ? 'embedded' : 'real'} — ${open.description}`,
        });
        opened.push({ name: d.name, type: d.type, embedded: open.embedded, description: open.description });
      } catch (error) {
        errors.push({ name: d.name, embedded: this.embedded(d), error: error as Error });
      }
    }
    return { lines, opened, errors };
  }

  /** Every connection reachable? Used by /readyz. */
  async check(): Promise<{ name: string; ok: boolean; error?: string }[]> {
    return Promise.all(
      this.declarations.map(async (d) => {
        try {
          await (await this.open(d.name)).check();
          return { name: d.name, ok: true };
        } catch (error) {
          return { name: d.name, ok: false, error: (error as Error).message };
        }
      }),
    );
  }

  async closeAll(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }
}

// The plugin contract. Everything a plugin author needs is in core/sdk; nothing in core/sdk imports the rest of the repo.
import type { Hono } from 'hono';

/** One record. Values are JSON-like; timestamps are Date objects, dates 'YYYY-MM-DD' strings. */
export type Row = Record<string, unknown>;

/**
 * A batch's rows held outside JS by the engine that made them (a DuckDB table: `DuckDbRows` of the duckdb
 * connection), so that steps running in that engine hand them on without converting every value. Opaque to the
 * runtime: it counts them, gives them as records to a step that needs records, and releases them once the batch is
 * committed. A step that can use them in place narrows them to its engine's class (`rows instanceof DuckDbRows`).
 */
export interface ResidentRows {
  readonly count: number;
  /** The rows as JS records, in the batch's order (read once, then shared). */
  toRecords(): Promise<Row[]>;
  /** The last `limit` rows as records, without reading the others (a step's page shows them). */
  tail(limit: number): Promise<Row[]>;
  /** Frees what holds them; called by the runtime once the batch is committed or dropped. */
  release(): Promise<void>;
  /**
   * Where the row at `index` came from (`file.csv:17`), when they are a source's batch: set by the runtime, and
   * passed on by a step that rejects rows by position (`ctx.reject(record, reasons, rows.origin?.(index))`).
   */
  origin?: (index: number) => string | undefined;
}

/**
 * The rows of a batch: JS records, or rows held in an engine (`ResidentRows`) that steps of that engine use in place
 * and the runtime turns into records for any other step. Only `Batch.records` and the `…InDuckDb` hooks see the latter.
 */
export type Rows = Row[] | ResidentRows;

export type PluginKind = 'source' | 'transform' | 'sink' | 'view';

/** A JSON Schema object (draft 2020-12 subset understood by ajv). */
export type JSONSchema = Record<string, unknown>;

/** The declarative part of a plugin: drives validation, `platform plugins`, `lint` and generated docs. */
export interface PluginSpec {
  kind: PluginKind;
  /** The name used in `use:` of a manifest step. */
  name: string;
  summary: string;
  description?: string;
  stability: 'stable' | 'beta' | 'experimental';
  /** JSON Schema of `with:`; every property should carry a description, and defaults/examples where they help. */
  config: JSONSchema;
  /** Connection types this plugin can use through the step's `connection:` (empty: none). */
  connectionTypes?: string[];
  /** True when the plugin needs `connection:` to be set. */
  connectionRequired?: boolean;
  /** Sources only: a streaming source runs until stopped; a batch source runs once per schedule/trigger. */
  streaming?: boolean;
  /** Examples for docs: a title and the YAML of a step using the plugin. */
  examples?: { title: string; yaml: string }[];
  /**
   * Sources: JSON Schema of the checkpoint the source yields. A stored checkpoint that does not match (a state file
   * edited or from another plugin) stops the start with the file and the step named, instead of a full re-read.
   */
  checkpoint?: JSONSchema;
}

/** A plugin class constructed by the container for each step that uses it. */
export interface PluginDefinition<T = unknown> {
  spec: PluginSpec;
  implementation: new (...args: never[]) => T;
}

/**
 * A plugin contributed by name, its module imported on first use: a manifest that does not use it never loads its code
 * (nor the libraries that code imports). `load` resolves to the module whose default export is the plugin's
 * ContainerModule (`pluginModule(spec, Class)`).
 */
export interface PluginLoader {
  kind: PluginKind;
  name: string;
  load(): Promise<{ default: unknown }>;
}

/** What a source's run is asked to do. */
export interface SourceRun {
  signal: AbortSignal;
  /** `platform run --once`: batch sources run once, streaming sources stop when caught up. */
  once: boolean;
  /** `--date YYYY-MM-DD` for date-parameterised sources (backfill); otherwise undefined. */
  date?: string;
  /** The last checkpoint committed for this step (undefined on the first run). */
  checkpoint: unknown;
  /** What started this run when it was triggered (an upload, an object-store event, another step). */
  trigger?: TriggerEvent;
}

export interface Batch {
  /** A source reading through its DuckDB connection may hand over a DuckDB table instead of records. */
  records: Rows;
  /** Opaque position persisted by the runtime once every downstream sink has committed this batch. */
  checkpoint?: unknown;
  /** Records the source itself could not parse (corrupt CSV line, bad JSON): sent to dead-letter. */
  rejects?: Reject[];
  /** Newest event time in this batch, when the source knows it (shown as freshness). */
  watermark?: Date;
  /** How far behind the source is after this batch (e.g. Kafka messages not yet read); exported as a metric. */
  lag?: number;
  /**
   * Set by a source whose run emits its whole result (a query's rows): where this batch sits in that result.
   * The runtime then delivers the batches to sinks even when empty (an empty result is news: it must empty a
   * replaced target), and a sink that replaces its whole target waits for `last` before swapping it in.
   */
  snapshot?: SnapshotPart;
  /**
   * Where this batch sits in the source, as text that names exactly its content (e.g. `data/a.csv:4096:1717171717#3`,
   * `orders/0@100-199`): the same batch read again after a crash has the same position, two different batches never
   * do. With it, sinks get a stable `SinkContext.batch` and append each batch exactly once. Leave it unset when a
   * re-read may cut batches differently in a way the text cannot tell apart (the sinks then get no batch id).
   */
  position?: string;
  /**
   * Where the record at `index` of `records` came from (`data/x.csv:17`, `fx-rates/0@42`), asked only when a step
   * downstream rejects it: a dead letter then names its origin even when the record went through transforms.
   */
  origin?: (index: number) => string | undefined;
}

/** The place of a batch in a run's whole result: its first batch, its last, both (one batch), or neither. */
export interface SnapshotPart {
  first: boolean;
  last: boolean;
}

export interface Reject {
  record: unknown;
  reasons: string[];
  /** Where the record came from, e.g. `data/x.csv:17` or `topic fx-rates partition 0 offset 42`. */
  origin?: string;
}

export interface Source {
  /** Yields batches; the runtime pulls the next one only when the pipeline has room (backpressure). */
  read(run: SourceRun): AsyncIterable<Batch>;
  /** Called in order after every downstream sink committed the batch carrying `checkpoint`. */
  commit?(checkpoint: unknown): Promise<void>;
  /**
   * Optional, for replaying this source's own dead letters (a line or message it could not parse) once the data
   * or the manifest is fixed: the records the stored `record` gives now. Throws when it still cannot be parsed
   * (the dead letter then stays, with the new reason).
   */
  replayRecord?(record: unknown, origin: string | undefined): Promise<Row[]> | Row[];
  close?(): Promise<void>;
}

export interface TransformContext {
  /**
   * Sends a record to the dead-letter store with its reasons; it is counted and never silently lost. `origin` is
   * needed only for a record that is not one of the batch's own objects (the runtime knows theirs).
   */
  reject(record: unknown, reasons: string | string[], origin?: string): void;
  /** The step ids feeding this batch (a transform with several inputs can tell them apart). */
  readonly input: string;
  /**
   * No other step reads these rows after this one (its input has no other output): held rows (`ResidentRows`) may
   * be changed in place — the rejected ones deleted — and handed on as the output, instead of copied.
   */
  readonly exclusive?: boolean;
}

export interface Transform {
  process(records: Row[], ctx: TransformContext): Promise<Row[]> | Row[];
  /**
   * Optional fast path for transforms that run in DuckDB: may take the rows as they come (records or a DuckDB
   * table) and give a DuckDB table back, so the batch is not converted to JS between DuckDB-backed steps.
   * Must do what `process` does. Returns undefined when it cannot (another DuckDB instance, a case only the JS
   * path handles): the runtime then calls `process` with records.
   */
  processInDuckDb?(rows: Rows, ctx: TransformContext): Promise<Rows | undefined>;
  /** Stateful transforms: state saved with the source checkpoint of the batch just processed. */
  snapshot?(): unknown;
  restore?(state: unknown): void;
  close?(): Promise<void>;
}

export interface SinkContext {
  /** As TransformContext.reject. A data error thrown by `write` also rejects: the runtime bisects the batch to the records the sink refuses. */
  reject(record: unknown, reasons: string | string[], origin?: string): void;
  /**
   * Present when the records are part of a source's whole result (see `Batch.snapshot`); such a batch may be
   * empty. Sinks that replace their whole target use `SnapshotBuffer`; other sinks just write the records.
   */
  snapshot?: SnapshotPart;
  /**
   * The batch's identity, when its source gave a position (`Batch.position`). A batch delivered again after a crash
   * (written, but the process died before its checkpoint was stored) has the same `id`: a sink that adds records
   * writes the id with them, atomically, and skips a batch whose id it already holds — exactly-once appends.
   */
  batch?: BatchIdentity;
}

/** See `SinkContext.batch`. Both ids are 32 hex characters and change when the pipeline's state folder is new. */
export interface BatchIdentity {
  /** This batch, as it reaches this sink (source step, position, the step it came through). */
  id: string;
  /** This sink step: the key of its ledger of written batches (a ledger table, a Kafka transactional id…). */
  writer: string;
  /** `<source step> <position>`, for logs and object metadata. */
  origin: string;
}

export interface Sink {
  /**
   * Durably writes the records; resolves only once they are committed. Infrastructure errors are retried by the
   * runtime; a data error (`DataError`, or an engine error `classifyError` recognises) is not: the runtime writes
   * the batch again in halves until it has the records the sink refuses, which go to dead-letter.
   * `records` may be empty (the end of an empty or filtered-out whole result): a sink that adds records does nothing then.
   */
  write(records: Row[], ctx: SinkContext): Promise<void>;
  /**
   * Optional fast path: writes rows held in a DuckDB table without converting them to JS; must do what `write`
   * does. Returns false when it cannot (another DuckDB instance, a mode only `write` handles): the runtime then
   * calls `write` with the records.
   */
  writeFromDuckDb?(rows: ResidentRows, ctx: SinkContext): Promise<boolean>;
  close?(): Promise<void>;
}

/** Services a view gets when it is mounted. */
export interface ViewMount {
  /** `/views/<id>` pages. */
  pages: Hono;
  /** `/api/views/<id>` data API. */
  api: Hono;
  /** The server root, for views that must answer at fixed paths (e.g. a legacy `/api/kpis/latest`). Use sparingly. */
  root: Hono;
  /** URL prefixes, e.g. `{ pages: '/views/monitor', api: '/api/views/monitor' }`, for links in rendered pages. */
  paths: { pages: string; api: string };
}

export interface View {
  mount(app: ViewMount): void | Promise<void>;
  /** OpenAPI path items keyed by absolute path (e.g. `/api/views/sales/revenue`), merged into /api/openapi.json. */
  openapi?(): Record<string, unknown>;
  /** Title and page path, for the index page of the server. */
  describe?(): { title: string; path: string };
  close?(): Promise<void>;
}

/** Describes the running step a plugin instance belongs to. */
export interface StepInfo {
  id: string;
  kind: PluginKind;
  use: string;
  /** The step ids it reads from. */
  from: string[];
  /** The connection name, if any. */
  connection?: string;
  /**
   * Sources without a connection of their own: the duckdb connection of the first DuckDB-backed step after them,
   * set by the runtime. A source that can hold its batches in DuckDB holds them there, so those steps use them in place.
   */
  batchConnection?: string;
  /** Manifest file and line of the step, for errors and links. */
  location: { file: string; line: number };
  pipeline: string;
}

export type TriggerEvent =
  | { type: 'upload'; file: string; filename: string; view: string; user?: string }
  | { type: 'object'; bucket: string; key: string; etag?: string }
  | { type: 'step'; step: string; records: number }
  | { type: 'schedule'; at: Date };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Metrics {
  counter(name: string, help: string, labels?: Record<string, string>): { inc(by?: number): void };
  gauge(name: string, help: string, labels?: Record<string, string>): { set(value: number): void };
  histogram(name: string, help: string, labels?: Record<string, string>): { observe(value: number): void };
}

/** Small persistent key-value state scoped to one step (the checkpoint store). */
export interface StepState {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): Promise<void>;
}

/** Looks up connections declared in the manifest's `connections:`. */
export interface Connections {
  /** The connection of type `type` named `name`; throws a clear error if absent or of another type. */
  get<T = unknown>(name: string, type?: string): Promise<T>;
  /** The names and types declared in the manifest. */
  list(): { name: string; type: string; embedded: boolean; description: string }[];
}

/** A kind of connection (duckdb, postgres, kafka, mongodb, s3), contributed like a plugin. */
export interface ConnectionType<T = unknown> {
  type: string;
  summary: string;
  /** JSON Schema of the connection's settings (after `type`). */
  config: JSONSchema;
  /**
   * Whether these settings open the embedded store (in-process, data in the state folder by default) rather than a
   * real server: the runtime says so at start, before and whether or not the connection opens.
   */
  embedded(config: Record<string, unknown>): boolean;
  /** Opens a client; `embedded` says whether it runs in-process. `stateDir` is the pipeline's state folder. */
  open(
    config: Record<string, unknown>,
    env: { name: string; stateDir: string; logger: Logger },
  ): Promise<OpenConnection<T>>;
  /**
   * Where the embedded store keeps its data (an absolute file or folder: by default in the state folder), or
   * undefined for a real server or an in-memory store. The runtime locks it for the process and says at start
   * whether it holds data from an earlier run.
   */
  storePath?(config: Record<string, unknown>, env: { stateDir: string }): string | undefined;
}

export interface OpenConnection<T> {
  client: T;
  embedded: boolean;
  /** One line for the start-up banner, e.g. "embedded PGlite in .platform/globemart/pg". Never contains a password. */
  description: string;
  /** Throws when the server is unreachable; used by /readyz. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Committed-data notifications: views use them for live updates and freshness. */
export interface PipelineEvents {
  on(listener: (event: PipelineEvent) => void): () => void;
  emit(event: PipelineEvent): void;
}

export type PipelineEvent =
  /** `snapshot`: the commit ended a whole result (even with 0 records, the step's data changed: it may be empty now). */
  | { type: 'commit'; step: string; records: number; at: Date; snapshot?: boolean }
  | { type: 'reject'; step: string; count: number; at: Date }
  | { type: 'error'; step: string; message: string; at: Date };

/** Per-step statistics, as shown by /api/pipeline and the views. */
export interface StepStats {
  id: string;
  kind: PluginKind;
  use: string;
  from: string[];
  recordsIn: number;
  recordsOut: number;
  /** The step's records in the dead-letter store now (all time: a replayed record that lands leaves it). */
  rejected: number;
  errors: number;
  batches: number;
  /** Batches the step took as a DuckDB table and handled there, without converting their rows to JS. */
  batchesInDuckDb: number;
  lastCommitAt: string | null;
  /** Newest event time seen, when the step knows one. */
  watermark: string | null;
  lastError: string | null;
  location: { file: string; line: number };
  /**
   * Counts kept across restarts (since the state folder was made); `recordsIn`, `recordsOut` and `batches` above
   * count this process only. `rejected` above is the step's records in the dead-letter store (all time).
   */
  totals?: { recordsIn: number; recordsOut: number; batches: number; since: string };
  /**
   * This process: when it started, and the records the step rejected since (a record rejected again for the same
   * reason counts here, though the store keeps it once).
   */
  run: { startedAt: string; rejected: number };
  /** A source's backlog after its last batch (e.g. Kafka messages not read yet), when it reports one. */
  lag?: number | null;
  /** What the step reads and writes outside the pipeline's edges: `table warehouse.revenue`, `topic bus/fx-rates`… */
  reads?: string[];
  writes?: string[];
  /** Steps whose data reaches this one through such a table, topic or file, or that trigger it (`after:`). */
  dataFrom?: string[];
}

export interface PipelineStatus {
  name: string;
  steps(): StepStats[];
  step(id: string): StepStats | undefined;
  /** Ids of every step upstream of `id` (inclusive), through `from:` and through tables, topics and files a sink writes and a source reads. */
  upstream(id: string): string[];
  /** The sinks writing the tables a query on `connection` reads (through SQL views declared in its `init:`). */
  producers?(connection: string, sql: string): string[];
  /** For a step's page: its `with:` (secrets masked), recent errors and a sample of the records it emitted last. */
  details?(id: string): StepDetails | undefined;
}

export interface StepDetails {
  config: Record<string, unknown>;
  connection: string | null;
  errors: { at: string; message: string }[];
  /** Up to a few records of the step's last batch (values as JSON). */
  sample: Row[];
  sampledAt: string | null;
}

export interface DeadLetterEntry {
  id: number;
  at: string;
  step: string;
  reasons: string[];
  origin?: string;
  record: unknown;
  /** The record was too deep or too large to keep whole: what is stored is cut, and cannot be replayed. */
  truncated?: boolean;
}

/** What a replay of dead letters did: each chosen entry landed, was rejected again (kept once, new reason) or skipped. */
export interface ReplayResult {
  selected: number;
  landed: number;
  rejectedAgain: number;
  skipped: { id: number; step: string; reason: string }[];
}

/** Which dead letters: by step, by a text in the reasons (case-insensitive), from a time on, or by id. */
export interface DeadLetterQuery {
  steps?: string[];
  reason?: string;
  /** ISO time: entries stored at or after it. */
  since?: string;
  ids?: number[];
}

export interface DeadLetters {
  /** Newest first. */
  list(
    query: DeadLetterQuery & { limit?: number; offset?: number },
  ): Promise<{ total: number; entries: DeadLetterEntry[] }>;
  /** Entries of these steps (all steps when absent), kept in memory: cheap enough for every request. */
  count(steps?: string[]): number;
}

/** Lets a view start a triggered source, e.g. an upload form feeding a `file` source. */
export interface Triggers {
  fire(step: string, event: TriggerEvent): Promise<{ records: number; rejected: number }>;
  /** Steps whose `trigger:` accepts this event type. */
  targets(type: TriggerEvent['type']): string[];
}

/** Roles declared in the manifest's `access:`; views ask before serving. */
export interface Access {
  /** Null when allowed; otherwise the HTTP status and message to answer with. */
  check(request: Request, role: string): { status: 401 | 403; message: string } | null;
  isPublic(view: string): boolean;
}

/**
 * What SQL connections (duckdb, postgres — embedded or real) expose to plugins and views.
 * Parameters are positional `$1, $2, …` and always bound, never pasted into the text.
 */
export interface SqlClient {
  readonly dialect: 'duckdb' | 'postgres';
  query<R extends Row = Row>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs one or more statements that return nothing. */
  exec(sql: string): Promise<void>;
  /** Runs `work` in one transaction on one session; rolls back when it throws. */
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
}

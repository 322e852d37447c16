// Data errors and infrastructure errors: the one classification every plugin, connection and the runtime use.
//
// A data error is about the records (parse, schema, conversion, shape, size): retrying cannot help, so the records
// (or the one file/object/message) go to dead-letter and the pipeline goes on. An infrastructure error is about the
// world around them (connection, timeout, a server restarting, disk full): the runtime retries with backoff and holds
// the checkpoint. What is not recognised counts as infrastructure: holding the checkpoint loses nothing.

/**
 * Thrown (or wrapped as `cause`) to say: these records are the problem; retrying will not help. `wholeBatch`: the
 * batch as a whole is refused (its shape), so a sink's batch is not bisected to find single records.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly wholeBatch: boolean;
  constructor(message: string, options?: { cause?: unknown; wholeBatch?: boolean }) {
    super(message, options);
    this.wholeBatch = options?.wholeBatch ?? false;
  }
}

/** Whether a data error refuses the whole batch (a DataError with `wholeBatch` in the error or its causes). */
export function refusesWholeBatch(error: unknown): boolean {
  for (let link: unknown = error, depth = 0; link && depth < 8; link = (link as { cause?: unknown }).cause, depth++) {
    if (link instanceof DataError && link.wholeBatch) return true;
  }
  return false;
}

export type ErrorClass = 'data' | 'infrastructure';

/** Whether the error (or one it wraps as `cause`) is a data error. */
export function isDataError(error: unknown): boolean {
  return classifyError(error) === 'data';
}

/**
 * Classifies an error by the first link of its `cause` chain that says something: a DataError, or an engine error
 * recognised by its code or message (DuckDB, PostgreSQL, MongoDB, S3, Kafka, Node's system errors, V8's size and
 * depth limits). Unrecognised errors are infrastructure.
 */
export function classifyError(error: unknown): ErrorClass {
  for (let link: unknown = error, depth = 0; link && depth < 8; link = (link as { cause?: unknown }).cause, depth++) {
    const verdict = classifyOne(link);
    if (verdict) return verdict;
  }
  return 'infrastructure';
}

function classifyOne(error: unknown): ErrorClass | undefined {
  if (error instanceof DataError) return 'data';
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    type?: unknown;
    retriable?: unknown;
    $metadata?: unknown;
    errorLabels?: unknown;
  };
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const code = e.code;

  // Node system errors (sockets, DNS, files): always the world, never the record.
  if (typeof code === 'string' && SYSTEM_CODES.has(code)) return 'infrastructure';

  // V8's limits hit by one record or file: too deep to walk, too large for a string or an array.
  if (
    error instanceof RangeError &&
    /Maximum call stack size exceeded|Invalid string length|Invalid array length|Array buffer allocation failed/.test(
      message,
    )
  )
    return 'data';
  // ERR_OUT_OF_RANGE: a value beyond what a format holds (a document over BSON's 16 MB, a number too large).
  if (
    code === 'ERR_STRING_TOO_LONG' ||
    code === 'ERR_FS_FILE_TOO_LARGE' ||
    (error instanceof RangeError && code === 'ERR_OUT_OF_RANGE')
  )
    return 'data';
  if (error instanceof SyntaxError && /JSON/.test(message)) return 'data';

  // PostgreSQL (pg, PGlite): SQLSTATE classes.
  if (
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    ('severity' in e || 'routine' in e || /^[0-9]{2}/.test(code))
  ) {
    const verdict = postgresClass(code);
    if (verdict) return verdict;
  }

  // DuckDB: the error type is the message's prefix ("Conversion Error: …").
  const duck = duckDbErrorClass(error);
  if (duck) return duck;

  // MongoDB driver and servers speaking its protocol (FerretDB).
  if (/^Mongo/.test(name) || name === 'BSONError') {
    if (/Network|ServerSelection|Timeout|NotPrimary|NotWritablePrimary|Topology|PoolCleared|Unavailable/.test(name))
      return 'infrastructure';
    if (
      Array.isArray(e.errorLabels) &&
      e.errorLabels.some((l) => l === 'RetryableWriteError' || l === 'TransientTransactionError' || l === 'ResetPool')
    )
      return 'infrastructure';
    if (name === 'BSONError') return 'data';
    if (typeof code === 'number') return MONGO_DATA_CODES.has(code) ? 'data' : 'infrastructure';
    if (
      /document is larger than|key .* must not (start with|contain)|invalid BSON|cyclic|Cannot convert/i.test(message)
    )
      return 'data';
  }

  // S3 (AWS SDK v3 errors carry $metadata; the local store uses the same names).
  if (e.$metadata !== undefined || S3_NAMES.has(name)) {
    if (S3_DATA_NAMES.has(name)) return 'data';
    return 'infrastructure';
  }

  // kafkajs: protocol errors name their type and whether a retry can help.
  if (/^KafkaJS/.test(name)) {
    if (typeof e.type === 'string' && KAFKA_DATA_TYPES.has(e.type)) return 'data';
    return 'infrastructure';
  }
  return undefined;
}

const SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EBUSY',
  'EAGAIN',
  'ENOENT',
  'EACCES',
  'EPERM',
  'EROFS',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * SQLSTATE classes: 22 data exception, 23 integrity constraint violation, 21 cardinality, 42 undefined or mistyped
 * column/table (the shape of the records; 42501 insufficient privilege is the server's setup), 2200x; the rest
 * (08 connection, 40 serialization/deadlock, 53 resources, 57 shutdown, 58 system, XX internal…) is infrastructure.
 */
function postgresClass(code: string): ErrorClass | undefined {
  if (code === '42501') return 'infrastructure';
  if (/^(21|22|23|42)/.test(code) || code === '54000' || code === '54001') return 'data';
  if (/^(08|25|40|53|55|57|58|XX|HV|F0|P0)/.test(code)) return 'infrastructure';
  return undefined;
}

/**
 * The class of a DuckDB error by its type (the message's prefix: "Out of Memory Error: …" is infrastructure), or
 * undefined when the message names no DuckDB error type. For readers that take DuckDB's other errors to mean the
 * file is bad: these must not.
 */
export function duckDbErrorClass(error: unknown): ErrorClass | undefined {
  const message = (error as { message?: unknown } | null)?.message;
  const duck = typeof message === 'string' ? /(?:^|: )(\w+(?: \w+)*?) Error: /.exec(message)?.[1] : undefined;
  return duck ? DUCKDB_TYPES.get(duck) : undefined;
}

/** DuckDB's error types (the message prefix), by what a retry could change. */
const DUCKDB_TYPES = new Map<string, ErrorClass>([
  ['Conversion', 'data'],
  ['Invalid Input', 'data'],
  ['Out of Range', 'data'],
  ['Binder', 'data'],
  ['Constraint', 'data'],
  ['Parser', 'data'],
  ['Catalog', 'data'],
  ['Not implemented', 'data'],
  ['Invalid type', 'data'],
  ['Mismatch Type', 'data'],
  ['Syntax', 'data'],
  ['Dependency', 'data'],
  ['IO', 'infrastructure'],
  ['Out of Memory', 'infrastructure'],
  ['TransactionContext', 'infrastructure'],
  ['Interrupt', 'infrastructure'],
  ['Connection', 'infrastructure'],
  ['FATAL', 'infrastructure'],
  ['INTERNAL', 'infrastructure'],
  ['HTTP', 'infrastructure'],
  ['Permission', 'infrastructure'],
]);

/**
 * MongoDB server codes that are about the document: 2 BadValue, 9 FailedToParse, 14 TypeMismatch, 28 PathNotViable,
 * 40 ConflictingUpdateOperators, 52–57 bad field names, 66 ImmutableField, 121 document validation, 10334/17419/17420
 * too large, 11000/11001 duplicate key, 16755/16837 bad update or geo value.
 */
const MONGO_DATA_CODES = new Set([
  2, 9, 14, 28, 40, 52, 53, 55, 56, 57, 66, 121, 10334, 11000, 11001, 16755, 16837, 17419, 17420,
]);

/** S3 error names the local store and the AWS SDK give; those about the object itself are data. */
const S3_NAMES = new Set([
  'NoSuchBucket',
  'NoSuchKey',
  'AccessDenied',
  'SlowDown',
  'InternalError',
  'RequestTimeout',
  'ServiceUnavailable',
  'EntityTooLarge',
  'InvalidObjectName',
  'KeyTooLongError',
  'InvalidArgument',
  'BadDigest',
]);
const S3_DATA_NAMES = new Set(['EntityTooLarge', 'InvalidObjectName', 'KeyTooLongError', 'BadDigest', 'NoSuchKey']);

/** kafkajs protocol error types about the message itself. */
const KAFKA_DATA_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TIMESTAMP',
  'INVALID_REQUIRED_ACKS',
]);

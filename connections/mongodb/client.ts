import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, Document, ObjectId } from 'mongodb';
import type { Row } from '../../core/sdk/types.ts';

export type Filter = Record<string, unknown>;
export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  limit?: number;
}

/**
 * What both document stores (a MongoDB-wire server, the embedded store) offer plugins. Only what FerretDB v1
 * supports is used: no transactions, no change streams, no $avg/$min/$max in $group.
 */
export interface DocumentStore {
  readonly embedded: boolean;
  upsertMany(collection: string, docs: Row[], key: string[]): Promise<void>;
  insertMany(collection: string, docs: Row[]): Promise<void>;
  /**
   * Inserts the documents of batch `batch` (a hex batch id, see `SinkContext.batch`) once: each gets an `_id` made
   * from the batch id and its place in the batch, so inserting the same batch again (after a crash) adds none of
   * the documents already in — with no transaction, even a batch cut short by a crash is completed, not doubled.
   */
  insertOnce(collection: string, docs: Row[], batch: string): Promise<void>;
  /** Replaces the whole collection so readers see the old set or the new one, never a half-written one. */
  replaceCollection(collection: string, docs: Row[]): Promise<void>;
  find(collection: string, filter?: Filter, options?: FindOptions): Promise<Row[]>;
}

/** Documents in one JSON file per collection, replaced atomically on every write (write, then rename). */
export class EmbeddedDocumentStore implements DocumentStore {
  readonly embedded = true;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async upsertMany(collection: string, docs: Row[], key: string[]) {
    const all = this.load(collection);
    const index = new Map(all.map((d, i) => [keyOf(d, key), i]));
    for (const doc of docs) {
      const at = index.get(keyOf(doc, key));
      if (at === undefined) {
        index.set(keyOf(doc, key), all.length);
        all.push({ ...doc });
      } else all[at] = { ...all[at], ...doc };
    }
    this.save(collection, all);
  }

  async insertMany(collection: string, docs: Row[]) {
    this.save(collection, [...this.load(collection), ...docs]);
  }

  async insertOnce(collection: string, docs: Row[], batch: string) {
    const all = this.load(collection);
    const present = new Set(all.map((d) => d._id));
    const fresh = docs
      .map((doc, i) => ({ ...withoutId(doc), _id: batchDocumentId(batch, i).toString('hex') }))
      .filter((d) => !present.has(d._id));
    if (fresh.length) this.save(collection, [...all, ...fresh]);
  }

  async replaceCollection(collection: string, docs: Row[]) {
    this.save(collection, docs);
  }

  async find(collection: string, filter: Filter = {}, options: FindOptions = {}) {
    // Without `_id`, as the server's find gives them.
    let docs = this.load(collection)
      .filter((d) => matches(d, filter))
      .map(withoutId);
    if (options.sort) {
      const entries = Object.entries(options.sort);
      docs = docs.sort((a, b) => {
        for (const [field, dir] of entries) {
          const c = compare(a[field], b[field]);
          if (c) return c * dir;
        }
        return 0;
      });
    }
    return options.limit ? docs.slice(0, options.limit) : docs;
  }

  private file(collection: string) {
    if (!/^[A-Za-z0-9_.-]+$/.test(collection)) throw new Error(`invalid collection name "${collection}"`);
    return join(this.dir, `${collection}.json`);
  }

  private load(collection: string): Row[] {
    const file = this.file(collection);
    if (!existsSync(file)) return [];
    return (JSON.parse(readFileSync(file, 'utf8')) as Row[]).map(revive);
  }

  private save(collection: string, docs: Row[]) {
    const file = this.file(collection);
    writeFileSync(
      file + '.tmp',
      JSON.stringify(docs.map((d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, toExtendedJson(v)])))),
    );
    renameSync(file + '.tmp', file);
  }
}

function revive(doc: Row): Row {
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, fromExtendedJson(v)]));
}

/** A Date as extended JSON `{ $date }`, so files and checkpoints keep it a Date; other values unchanged. */
export function toExtendedJson(value: unknown): unknown {
  return value instanceof Date ? { $date: value.toISOString() } : value;
}

export function fromExtendedJson(value: unknown): unknown {
  return value && typeof value === 'object' && '$date' in (value as object)
    ? new Date((value as { $date: string }).$date)
    : value;
}

function keyOf(doc: Row, key: string[]): string {
  return JSON.stringify(key.map((k) => doc[k] ?? null));
}

function compare(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  if (x === y) return 0;
  if (x === undefined || x === null) return -1;
  if (y === undefined || y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}

/** The filter subset the embedded store understands: equality and $gt/$gte/$lt/$lte/$in/$ne per field. */
function matches(doc: Row, filter: Filter): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    const value = doc[field];
    if (condition && typeof condition === 'object' && !(condition instanceof Date) && !Array.isArray(condition)) {
      return Object.entries(condition as Record<string, unknown>).every(([op, arg]) => {
        switch (op) {
          case '$gt':
            return compare(value, arg) > 0;
          case '$gte':
            return compare(value, arg) >= 0;
          case '$lt':
            return compare(value, arg) < 0;
          case '$lte':
            return compare(value, arg) <= 0;
          case '$ne':
            return compare(value, arg) !== 0;
          case '$in':
            return (arg as unknown[]).some((a) => compare(value, a) === 0);
          default:
            throw new Error(`the embedded document store does not support ${op}`);
        }
      });
    }
    return compare(value, condition) === 0;
  });
}

/** The 12 bytes of the `_id` of document `index` of batch `batch` (hex): 8 bytes of the batch id, 4 of the index. */
function batchDocumentId(batch: string, index: number): Buffer {
  const id = Buffer.alloc(12);
  Buffer.from(batch.padEnd(16, '0').slice(0, 16), 'hex').copy(id);
  id.writeUInt32BE(index, 8);
  return id;
}

/** MongoDB's error code for a duplicate key (here: a document of a batch inserted before). */
const DUPLICATE_KEY = 11000;

/** A MongoDB-wire server (MongoDB, FerretDB) through the official driver. */
export class MongoDocumentStore implements DocumentStore {
  readonly embedded = false;
  /** `objectId`: the driver's ObjectId class (the driver is loaded only when a real connection opens). */
  constructor(
    readonly db: Db,
    private readonly objectId: typeof ObjectId,
  ) {}

  async upsertMany(collection: string, docs: Row[], key: string[]) {
    if (!docs.length) return;
    await this.db.collection(collection).bulkWrite(
      docs.map((doc) => ({
        updateOne: {
          filter: Object.fromEntries(key.map((k) => [k, doc[k] ?? null])),
          update: { $set: withoutId(doc) },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  async insertMany(collection: string, docs: Row[]) {
    if (docs.length)
      await this.db.collection(collection).insertMany(docs.map(withoutId) as Document[], { ordered: true });
  }

  async insertOnce(collection: string, docs: Row[], batch: string) {
    if (!docs.length) return;
    const withIds = docs.map((doc, i) => ({ ...withoutId(doc), _id: new this.objectId(batchDocumentId(batch, i)) }));
    try {
      // Unordered: every document not in yet goes in, whatever the others do.
      await this.db.collection(collection).insertMany(withIds as Document[], { ordered: false });
    } catch (error) {
      const failures = (error as { writeErrors?: { code?: number }[] | { code?: number } }).writeErrors;
      const list = failures === undefined ? undefined : Array.isArray(failures) ? failures : [failures];
      if (!list?.length || list.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    }
  }

  async replaceCollection(collection: string, docs: Row[]) {
    // Write a new collection, then rename it over the old one (dropTarget): readers switch in one step.
    const staging = `${collection}__staging_${Date.now()}`;
    if (docs.length) await this.db.collection(staging).insertMany(docs.map(withoutId) as Document[]);
    else await this.db.createCollection(staging);
    try {
      await this.db.collection(staging).rename(collection, { dropTarget: true });
    } catch (error) {
      // FerretDB v1 lacks dropTarget: drop, then rename. Readers may briefly find no collection (never half of one).
      if (!/dropTarget/.test((error as Error).message)) throw error;
      await this.db
        .collection(collection)
        .drop()
        .catch(() => undefined);
      await this.db.collection(staging).rename(collection);
    }
  }

  async find(collection: string, filter: Filter = {}, options: FindOptions = {}) {
    let cursor = this.db.collection(collection).find(filter, { projection: { _id: 0 } });
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.limit) cursor = cursor.limit(options.limit);
    return (await cursor.toArray()) as Row[];
  }
}

function withoutId(doc: Row): Row {
  const { _id, ...rest } = doc;
  return rest;
}

// Proves FerretDB works for our driver: insert one document, find it, drop the collection.
// Usage: node mongo-check.mjs mongodb://127.0.0.1:57017/
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const { MongoClient } = require('mongodb');

const client = new MongoClient(process.argv[2] ?? 'mongodb://127.0.0.1:57017/', { serverSelectionTimeoutMS: 20_000 });
try {
  await client.connect();
  const coll = client.db('services_check').collection(`check_${process.pid}_${Date.now()}`);
  await coll.insertOne({ _id: 'k', value: 'ok', n: 1 });
  const doc = await coll.findOne({ _id: 'k' });
  await coll.drop().catch(() => undefined);
  if (doc?.value !== 'ok') throw new Error(`found ${JSON.stringify(doc)}`);
  console.error('[services] mongo check: insert, find ok');
} finally {
  await client.close();
}

import { resolve } from 'node:path';
import { connectionModule, isEmbeddedTarget } from '../../core/sdk/index.ts';
import { EmbeddedDocumentStore, MongoDocumentStore } from './client.ts';

export {
  EmbeddedDocumentStore,
  MongoDocumentStore,
  fromExtendedJson,
  toExtendedJson,
  type DocumentStore,
} from './client.ts';

function dataFolder(config: Record<string, unknown>, env: { stateDir: string }): string | undefined {
  return embedded(config) ? resolve((config.dataDir as string | undefined) ?? `${env.stateDir}/mongo`) : undefined;
}

/** No `url`, an empty one or "embedded": the embedded store. */
function embedded(config: Record<string, unknown>): boolean {
  return isEmbeddedTarget(config.url);
}

export default connectionModule({
  type: 'mongodb',
  summary: 'A MongoDB-wire server (MongoDB, FerretDB) or, with url "embedded", documents in JSON files.',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { const: 'mongodb' },
      url: {
        type: 'string',
        default: 'embedded',
        description: 'mongodb://host:port/ or "embedded".',
        examples: ['mongodb://127.0.0.1:27017/'],
      },
      database: { type: 'string', default: 'platform', description: 'Database name.' },
      dataDir: { type: 'string', description: 'Embedded: the folder (default: mongo/ in the state folder).' },
    },
  },
  embedded,
  storePath: dataFolder,
  async open(config, env) {
    if (embedded(config)) {
      const dir = dataFolder(config, env)!;
      return {
        client: new EmbeddedDocumentStore(dir),
        embedded: true,
        description: `embedded document store in ${dir}`,
        check: async () => undefined,
        close: async () => undefined,
      };
    }
    const url = String(config.url);
    const { MongoClient, ObjectId } = await import('mongodb'); // loaded only for a real server (~20 MB at import)
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000 });
    const where = url.replace(/\/\/[^@/]*@/, '//');
    try {
      await client.connect();
      await client.db(String(config.database)).command({ ping: 1 });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new Error(`MongoDB ${where}: ${(error as Error).message}`);
    }
    return {
      client: new MongoDocumentStore(client.db(String(config.database)), ObjectId),
      embedded: false,
      description: `MongoDB wire ${where} db ${config.database}`,
      check: async () => void (await client.db(String(config.database)).command({ ping: 1 })),
      close: () => client.close(),
    };
  },
});

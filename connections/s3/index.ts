import { resolve } from 'node:path';
import { connectionModule, isEmbeddedTarget } from '../../core/sdk/index.ts';
import { LocalObjectStore, S3ObjectStore } from './client.ts';

export {
  LocalObjectStore,
  S3ObjectStore,
  contentTypeOf,
  type ObjectStore,
  type ObjectInfo,
  type PutOptions,
  type EventRule,
} from './client.ts';

/** One line for an AWS SDK error: its code and message, never the credentials. */
export function explainS3Error(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message ?? '')) return `connection refused (${e.message})`;
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

function dataFolder(config: Record<string, unknown>, env: { stateDir: string }): string | undefined {
  return embedded(config) ? resolve((config.dataDir as string | undefined) ?? `${env.stateDir}/s3`) : undefined;
}

/** No `endpoint`, an empty one or "embedded": the embedded store. */
function embedded(config: Record<string, unknown>): boolean {
  return isEmbeddedTarget(config.endpoint);
}

export default connectionModule({
  type: 's3',
  summary: 'An S3 API (AWS S3, MinIO, …) or, with endpoint "embedded", a local folder with buckets as folders.',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { const: 's3' },
      endpoint: {
        type: 'string',
        format: 'server-url',
        default: 'embedded',
        description: 'http(s)://host:port of the S3 API, or "embedded".',
        examples: ['http://127.0.0.1:9000'],
      },
      region: { type: 'string', default: 'us-east-1' },
      accessKeyId: { type: 'string', description: 'Access key (from an environment variable).' },
      secretAccessKey: { type: 'string', description: 'Secret key (from an environment variable).' },
      dataDir: { type: 'string', description: 'Embedded: the folder (default: s3/ in the state folder).' },
    },
  },
  embedded,
  storePath: dataFolder,
  async open(config, env) {
    if (embedded(config)) {
      const dir = dataFolder(config, env)!;
      return {
        client: new LocalObjectStore(dir),
        embedded: true,
        description: `embedded object store in ${dir}`,
        check: async () => undefined,
        close: async () => undefined,
      };
    }
    // The SDK's supported switch for its Node-version notice: printed at every start, it is nothing a pipeline's
    // operator can act on there (the Node versions this project supports are in the README).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      endpoint: String(config.endpoint),
      region: String(config.region),
      forcePathStyle: true,
      credentials: config.accessKeyId
        ? { accessKeyId: String(config.accessKeyId), secretAccessKey: String(config.secretAccessKey ?? '') }
        : undefined,
      maxAttempts: 2,
    });
    const check = async () => {
      try {
        await client.send(new sdk.ListBucketsCommand({}));
      } catch (error) {
        throw new Error(explainS3Error(error));
      }
    };
    try {
      await check();
    } catch (error) {
      client.destroy();
      throw new Error(`S3 ${config.endpoint}: ${(error as Error).message}`);
    }
    return {
      client: new S3ObjectStore(client, sdk),
      embedded: false,
      description: `S3 API ${config.endpoint}`,
      check,
      close: async () => client.destroy(),
    };
  },
});

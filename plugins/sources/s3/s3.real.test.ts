import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { service, uniqueName } from '../../../tests/services.ts';
import { s3Suite } from './suite.ts';
import source, { type S3Source } from './index.ts';

const minio = () => ({ type: 's3', endpoint: service('S3_ENDPOINT'), accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY'), region: service('S3_REGION') });
s3Suite('MinIO', minio, () => uniqueName('b').toLowerCase().replaceAll('_', '-'));

describe('s3 connection errors (real server)', () => {
  it('says the credentials are wrong, naming the connection and never the secret', async () => {
    const step = await createTestStep<S3Source>(source, 'source', { bucket: 'x' }, { connections: { lake: { ...minio(), secretAccessKey: 'not-the-secret' } }, connection: 'lake' });
    const error = (await readAll(step.plugin).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/^connection "lake" \(s3, manifest:\?\): S3 http:\/\/127\.0\.0\.1:59000: SignatureDoesNotMatch/);
    expect(error.message).not.toContain('not-the-secret');
  });

  it('says the endpoint is unreachable', async () => {
    const step = await createTestStep<S3Source>(source, 'source', { bucket: 'x' }, { connections: { lake: { ...minio(), endpoint: 'http://127.0.0.1:1' } }, connection: 'lake' });
    await expect(readAll(step.plugin)).rejects.toThrow(/^connection "lake" \(s3, manifest:\?\): S3 http:\/\/127\.0\.0\.1:1: /);
  });
});

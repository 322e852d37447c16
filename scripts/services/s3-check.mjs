// Proves MinIO works for our SDK: create a bucket, put and get an object, and attach a bucket notification to the
// Kafka target ARN (MinIO rejects an ARN it does not know); then remove everything again.
// Usage: node s3-check.mjs http://127.0.0.1:59000 arn:minio:sqs::PLATFORM:kafka
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const s3sdk = require('@aws-sdk/client-s3');

const [endpoint = 'http://127.0.0.1:59000', arn] = process.argv.slice(2);
const s3 = new s3sdk.S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'platformadmin', secretAccessKey: 'platformsecret' },
});
const Bucket = `services-check-${process.pid}-${Date.now()}`;
const Key = 'check.txt';
await s3.send(new s3sdk.CreateBucketCommand({ Bucket }));
try {
  await s3.send(new s3sdk.PutObjectCommand({ Bucket, Key, Body: 'ok', ContentType: 'text/plain' }));
  const got = await s3.send(new s3sdk.GetObjectCommand({ Bucket, Key }));
  const body = await got.Body.transformToString();
  if (body !== 'ok') throw new Error(`read back ${JSON.stringify(body)}`);
  if (arn) {
    await s3.send(
      new s3sdk.PutBucketNotificationConfigurationCommand({
        Bucket,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
  }
  console.error(`[services] s3 check: create bucket, put, get${arn ? `, notification to ${arn}` : ''} ok`);
} finally {
  await s3.send(new s3sdk.DeleteObjectCommand({ Bucket, Key })).catch(() => undefined);
  await s3.send(new s3sdk.DeleteBucketCommand({ Bucket })).catch(() => undefined);
  s3.destroy();
}

// Proves the broker works for our client: create a topic, produce, consume through a group, commit.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const { Kafka, logLevel } = require('kafkajs');

const kafka = new Kafka({
  clientId: 'services-check',
  brokers: process.argv[2].split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 20, initialRetryTime: 200 },
});
const admin = kafka.admin();
await admin.connect();
const topic = `services-check-${Date.now()}`;
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
const producer = kafka.producer({ idempotent: true });
await producer.connect();
await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'ok' }] });
const consumer = kafka.consumer({ groupId: `${topic}-group` });
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const value = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no message consumed within 30 s')), 30_000);
  consumer.run({
    eachMessage: async ({ message }) => {
      clearTimeout(timer);
      resolve(message.value.toString());
    },
  });
});
await consumer.commitOffsets([{ topic, partition: 0, offset: '1' }]);
await Promise.all([consumer.disconnect(), producer.disconnect()]);
// Leaves nothing behind on servers operators share (tests/leftovers.ts lists what a run leaves).
await admin.deleteGroups([`${topic}-group`]).catch(() => undefined);
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
if (value !== 'ok') throw new Error(`consumed ${value}`);
console.error('[services] kafka check: produce, consume, commit ok');

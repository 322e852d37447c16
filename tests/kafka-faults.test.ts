// Broker faults on the 3-node Kafka cluster of `scripts/services/up.sh kafka3` (replication 3, min.insync.replicas 2).
// A node is SIGKILLed in the middle of a run and brought back by `up.sh kafka3`, which starts only missing nodes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { platform, repoRoot, startPlatform } from './cli.ts';
import { Scratch, service } from './services.ts';

const brokers = () => service('KAFKA3_BROKERS').split(',');
// Topics and consumer groups of these tests, deleted at the end (the cluster is shared).
const scratch = new Scratch(() => service('KAFKA3_BROKERS'));
const nodeOfPort = (port: number) => (port - 59190) / 2; // lib.sh: node n listens on 59190 + 2n

function killNode(node: number) {
  const pid = Number(readFileSync(join(repoRoot, '.services', `kafka3-${node}.pid`), 'utf8'));
  process.kill(pid, 'SIGKILL');
}

/** Starts the nodes that are not running (and waits until the cluster answers a produce/consume round trip). */
async function restartMissingNodes() {
  await promisify(execFile)('bash', [join(repoRoot, 'scripts/services/up.sh'), 'kafka3'], { timeout: 180_000 });
}

async function leaderOfPartition0(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'faults', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const { brokers: nodes } = await admin.describeCluster();
    const leader = topics[0].partitions.find((p) => p.partitionId === 0)!.leader;
    return nodeOfPort(nodes.find((b) => b.nodeId === leader)!.port);
  } finally {
    await admin.disconnect();
  }
}

/** Every message of a topic, read by a bare kafkajs consumer (not the platform's code). */
async function readTopic(topic: string, expected: number): Promise<Record<string, unknown>[]> {
  const kafka = new Kafka({ clientId: 'faults', brokers: brokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: scratch.group('check') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  // By partition and offset: kafkajs may hand a message over again (it re-fetches the batch before a transaction's
  // commit marker); a message produced twice has another offset and is counted twice.
  const byOffset = new Map<string, Record<string, unknown>>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`read ${byOffset.size} of ${expected} messages from ${topic}`)),
      60_000,
    );
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        byOffset.set(
          `${partition}@${message.offset}`,
          JSON.parse(message.value!.toString()) as Record<string, unknown>,
        );
        if (byOffset.size >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await new Promise((r) => setTimeout(r, 1000)); // anything beyond `expected` (a duplicate) arrives too
  await consumer.disconnect();
  return [...byOffset.values()];
}

const step = (what: string) => console.error(`${new Date().toISOString().slice(11, 19)} kafka-faults: ${what}`);

/** A manifest file in a fresh folder of its own (its state and outputs go there too). */
function manifestIn(prefix: string, yaml: string): { dir: string; manifest: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-faults-'));
  const manifest = join(dir, `${prefix}.yaml`);
  writeFileSync(manifest, yaml.replaceAll('{dir}', dir));
  return { dir, manifest };
}

const byId = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [Number(r.id), Number(r.v)]));

describe('a 3-node Kafka cluster losing brokers (real servers)', () => {
  afterAll(async () => {
    try {
      await restartMissingNodes(); // leave the cluster whole for whoever runs next
    } finally {
      await scratch.drop();
    }
  });

  it('keeps producing and consuming through a SIGKILLed partition leader and its restart: every record lands exactly once', async () => {
    const topic = scratch.topic('faults');
    scratch.groups.add(`${topic}-group`);
    const { dir, manifest } = manifestIn(
      'faults',
      `name: faults
defaults: { retries: 8, backoff: 500ms }
connections:
  bus: { type: kafka, brokers: "${service('KAFKA3_BROKERS')}" }
  db: { type: duckdb, path: "{dir}/out.duckdb" }
sources:
  numbers: { use: generator, with: { seed: 5, count: 1000, rate: 50, batchSize: 10, fields: { id: { sequence: {} }, v: { int: [1, 999] } } } }
  from-topic: { use: kafka, connection: bus, with: { topics: ${topic}, group: ${topic}-group, startFrom: earliest, format: json } }
sinks:
  to-topic: { use: kafka, from: numbers, connection: bus, with: { topic: ${topic}, key: id, partitions: 3, replicationFactor: 3 } }
  rows: { use: duckdb, from: from-topic, connection: db, with: { table: numbers, mode: upsert, key: [id], createTable: true, columns: { id: INTEGER, v: INTEGER } } }
`,
    );
    const run = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state')]);
    const landed = async () => {
      // A second try: a kept-alive connection the server has just closed fails once (undici), a dead server twice.
      const get = () => fetch(`${run.url}/api/pipeline`, { signal: AbortSignal.timeout(10_000) });
      const response = await get()
        .catch(get)
        .catch((error: Error) => {
          throw new Error(
            `platform run stopped answering (${error.message}; exit ${run.child.exitCode ?? run.child.signalCode}):\n${run.output().slice(-4000)}`,
          );
        });
      const stats = (await response.json()) as { steps: { id: string; recordsIn: number }[] };
      return stats.steps.find((s) => s.id === 'rows')!.recordsIn;
    };
    const until = async (n: number, ms: number) => {
      const deadline = Date.now() + ms;
      while ((await landed()) < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      return landed();
    };
    let code: number | null;
    try {
      expect(await until(150, 60_000)).toBeGreaterThanOrEqual(150);
      const victim = await leaderOfPartition0(topic);
      killNode(victim);
      const atKill = await landed();
      step(`killed node ${victim} (leader of partition 0) with ${atKill} records landed`);
      // With one node of three gone, writes acknowledged by all in-sync replicas and the consumer group go on.
      // The group rebalances away from the dead node (up to a session timeout, 30 s) and goes on.
      expect(await until(atKill + 300, 120_000), run.output()).toBeGreaterThanOrEqual(atKill + 300);
      step(`${await landed()} records landed without node ${victim}; restarting it`);
      await restartMissingNodes();
      step('node restarted');
      expect(await until(1000, 120_000), run.output()).toBeGreaterThanOrEqual(1000);
      step('all records landed');
    } finally {
      code = await run.stop();
    }
    step(`platform run stopped with code ${code}`);
    expect(code, run.output().slice(-3000)).toBe(0);

    const db = await (await DuckDBInstance.create(join(dir, 'out.duckdb'))).connect();
    const rows = (await db.runAndReadAll('SELECT id, v FROM numbers ORDER BY id')).getRowObjectsJS();
    const onTopic = await readTopic(topic, 1000);
    step('topic read back');
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(byId(rows)).toEqual(byId(onTopic)); // same content as the topic, read by a bare consumer
    expect(new Set(onTopic.map((r) => r.id)).size).toBe(1000);
    db.closeSync();
  }, 480_000);

  it('below min.insync.replicas a run fails in one line and commits nothing; after the brokers return it completes', async () => {
    const topic = scratch.topic('isr');
    const { dir, manifest } = manifestIn(
      'isr',
      `name: isr
defaults: { retries: 1, backoff: 200ms }
connections:
  bus: { type: kafka, brokers: "${service('KAFKA3_BROKERS')}", connectionTimeout: 1000, retries: 2 }
sources:
  numbers: { use: generator, with: { seed: 9, count: 200, batchSize: 50, fields: { id: { sequence: {} }, v: { int: [1, 999] } } } }
sinks:
  to-topic: { use: kafka, from: numbers, connection: bus, with: { topic: ${topic}, key: id, partitions: 3, replicationFactor: 3 } }
`,
    );
    const args = ['run', manifest, '--once', '--state-dir', join(dir, 'state')];
    const first = await platform(args, { timeoutMs: 120_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const onTopic = await readTopic(topic, 200);
    expect(onTopic, first.stdout + first.stderr).toHaveLength(200);

    // Two of three nodes gone: no quorum, no in-sync majority. The next day's run must fail, not pretend.
    const state = join(dir, 'state2');
    killNode(2);
    killNode(3);
    try {
      const failed = await platform(['run', manifest, '--once', '--state-dir', state], { timeoutMs: 150_000 });
      const output = failed.stdout + failed.stderr;
      expect(failed.code, output).toBe(1);
      const errors = output.split('\n').filter((line) => /ERROR/.test(line));
      expect(errors.length).toBeGreaterThan(0);
      // One line naming the connection (or the step) and its manifest line, not a stack trace.
      expect(errors[0], output).toMatch(
        /connection "bus" \(kafka, .*isr\.yaml:\d+\): |numbers: run failed at to-topic \(.*isr\.yaml:\d+\), nothing after the last committed batch was committed: /,
      );
      expect(output).not.toMatch(/^\s+at /m);
    } finally {
      await restartMissingNodes();
    }
    const second = await platform(['run', manifest, '--once', '--state-dir', state], { timeoutMs: 120_000 });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    // The failed run committed no checkpoint, so the second wrote all 200 again (at least once: every id is there).
    const all = await readTopic(topic, 400);
    expect(new Set(all.map((r) => r.id)).size).toBe(200);
    expect(byId(all)).toEqual(byId(onTopic));
  }, 400_000);
});

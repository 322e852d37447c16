import { loadManifest } from '../../core/manifest/index.ts';
import { Pipeline } from '../../core/runtime/pipeline.ts';
import type { Logger } from '../../core/sdk/types.ts';
import { createCatalog } from '../catalog.ts';
import { formatSummary } from './summary.ts';

export interface RunOptions {
  once: boolean;
  date?: string;
  port?: number;
  stateDir?: string;
  logger: Logger;
}

export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const { logger } = options;
  const catalog = createCatalog();
  const manifest = await loadManifest(file, catalog);
  const pipeline = new Pipeline(manifest, catalog, {
    once: options.once,
    date: options.date,
    stateDir: options.stateDir,
    logger,
  });
  logger.info(`pipeline ${manifest.name} (${file}), state in ${pipeline.stateDir}`);
  await pipeline.start();

  if (options.once) {
    const started = Date.now();
    const { ok } = await pipeline.run();
    process.stdout.write(formatSummary(pipeline, Date.now() - started) + '\n');
    await pipeline.stop();
    return ok ? 0 : 1;
  }

  // The HTTP server is loaded only for a server (a --once run never answers a request).
  const { serve, createServer, corePages, mountCoreAssets } = await import('./server.ts');
  const app = await createServer(pipeline, corePages);
  mountCoreAssets(app);
  const port = options.port ?? manifest.server.port;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: manifest.server.host }, (info) => {
      logger.info(
        `serving http://${manifest.server.host}:${info.port}/ (views: ${[...pipeline.views.keys()].map((v) => '/views/' + v).join(', ') || 'none'})`,
      );
      resolve(s);
    });
    s.once('error', (error) =>
      reject(
        new Error(`cannot listen on ${manifest.server.host}:${port}: ${listenProblem(error as NodeJS.ErrnoException)}`),
      ),
    );
  }).catch(async (error: unknown) => {
    await pipeline.stop();
    throw error;
  });
  for (const { level, message } of pipeline.access.banner()) logger[level](message);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping sources, draining and committing`);
    await pipeline.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    logger.info('stopped cleanly');
  };
  const running = pipeline.run();
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal).then(resolve));
  });
  await Promise.race([stopped, running.then(() => stopped)]);
  return 0;
}

/** Why the server cannot listen, and what to change. */
function listenProblem(error: NodeJS.ErrnoException): string {
  if (error.code === 'EADDRINUSE')
    return 'the port is in use by another process; give another with --port N (or server.port in the manifest)';
  if (error.code === 'EACCES')
    return 'ports below 1024 need privileges; give another with --port N (or server.port in the manifest)';
  return error.message;
}

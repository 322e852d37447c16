import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { Pipeline } from '../runtime/pipeline.ts';
import type { StepStats } from '../sdk/types.ts';
import { mountDeadLetters, type DeadLetterPageInput } from './dead-letter.ts';

/** Server-rendered pages the view plugins provide (kept out of core so core has no UI code). */
export interface CorePages {
  index(input: { pipeline: string; description?: string; views: { id: string; title: string; path: string }[]; steps: StepStats[] }): string;
  deadLetters(input: DeadLetterPageInput): string;
}

/**
 * The HTTP surface of a running pipeline: health, readiness, Prometheus metrics, the pipeline graph,
 * dead letters, OpenAPI, and every view mounted at /views/<id> (pages) and /api/views/<id> (data).
 */
export async function createServer(pipeline: Pipeline, pages?: CorePages): Promise<Hono> {
  const app = new Hono();
  const { manifest } = pipeline;
  app.use('*', secureHeaders({ contentSecurityPolicy: undefined, crossOriginEmbedderPolicy: false }));
  // CORS is closed unless the manifest lists origins; credentials never go to a wildcard.
  if (manifest.server.cors.length) app.use('/api/*', cors({ origin: manifest.server.cors, credentials: false }));

  app.get('/healthz', (c) => c.json({ status: 'ok', pipeline: manifest.name }));
  app.get('/readyz', async (c) => {
    const connections = await pipeline.connections.check();
    const ready = connections.every((x) => x.ok);
    return c.json({ status: ready ? 'ready' : 'not ready', connections }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await pipeline.metrics.text(), 200, { 'content-type': 'text/plain; version=0.0.4' }));

  const access = pipeline.services.access;
  const pipelineJson = () => ({
    name: manifest.name,
    description: manifest.description ?? null,
    manifest: manifest.file,
    connections: pipeline.connections.list(),
    steps: pipeline.stats(),
    deadLetters: pipeline.deadLetters.count(),
  });
  app.get('/api/pipeline', (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    return denied ? c.json({ error: denied.message }, denied.status) : c.json(pipelineJson());
  });

  mountDeadLetters(app, pipeline, pages ? (input) => pages.deadLetters(input) : undefined);

  const views = [...pipeline.views.entries()];
  const openapiPaths: Record<string, unknown> = {};
  for (const [id, view] of views) {
    const pagesApp = new Hono();
    const api = new Hono();
    await view.mount({ pages: pagesApp, api, root: app, paths: { pages: `/views/${id}`, api: `/api/views/${id}` } });
    app.route(`/views/${id}`, pagesApp);
    app.route(`/api/views/${id}`, api);
    Object.assign(openapiPaths, view.openapi?.() ?? {});
  }
  app.get('/api/openapi.json', (c) => c.json({
    openapi: '3.1.0',
    info: { title: `${manifest.name} API`, version: '1', description: manifest.description ?? '' },
    paths: {
      '/api/pipeline': { get: { summary: 'Pipeline graph with per-step statistics and freshness', responses: { 200: { description: 'OK' } } } },
      '/api/dead-letter': {
        get: {
          summary: 'Rejected records with their step and reasons',
          parameters: [
            { name: 'steps', in: 'query', schema: { type: 'string' }, description: 'Comma-separated step ids' },
            { name: 'reason', in: 'query', schema: { type: 'string' }, description: 'Text in the reasons (any case)' },
            { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Entries stored at or after this time' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          ],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/api/dead-letter/replay': {
        post: {
          summary: `Replays dead letters through the step that rejected them and on downstream (role ${manifest.deadLetter.replayRole})`,
          requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } }, reason: { type: 'string' }, since: { type: 'string', format: 'date-time' }, ids: { type: 'array', items: { type: 'integer' } } } } } } },
          responses: { 200: { description: 'selected, landed, rejectedAgain, skipped' }, 400: { description: 'A bad filter' }, 401: { description: 'No token' }, 403: { description: 'The token lacks the role' } },
        },
      },
      ...openapiPaths,
    },
  }));

  const viewLinks = () => views.map(([id, view]) => ({ id, ...(view.describe?.() ?? { title: id, path: `/views/${id}` }) }));
  app.get('/', (c) => {
    const links = viewLinks();
    // A single page is what a viewer wants to land on (API-only views have no page).
    const pagesOnly = links.filter((l) => l.path.startsWith('/views/'));
    if (pagesOnly.length === 1 && !c.req.query('overview')) return c.redirect(pagesOnly[0].path);
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.text(denied.message, denied.status);
    if (!pages) return c.json(pipelineJson());
    return c.html(pages.index({ pipeline: manifest.name, description: manifest.description, views: links, steps: pipeline.stats() }));
  });
  app.get('/pipeline', (c) => c.redirect('/?overview=1'));
  return app;
}

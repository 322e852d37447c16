import { Hono, type Context } from 'hono';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { Pipeline } from '../runtime/pipeline.ts';
import type { DeadLetterEntry, StepStats } from '../sdk/types.ts';
import { openApiDocument } from './openapi.ts';
import { pipelineEvents, StepRates, stepDetails, type LiveStepStats } from './pipeline-live.ts';

/** Server-rendered pages the view plugins provide (kept out of core so core has no UI code). */
export interface CorePages {
  index(input: { pipeline: string; description?: string; views: { id: string; title: string; path: string }[]; steps: (StepStats | LiveStepStats)[] }): string;
  deadLetters(input: { pipeline: string; entries: DeadLetterEntry[]; total: number; steps?: string[]; offset: number; limit: number }): string;
}

/**
 * The HTTP surface of a running pipeline: health, readiness, Prometheus metrics, the pipeline graph,
 * dead letters, OpenAPI, and every view mounted at /views/<id> (pages) and /api/views/<id> (data).
 */
export async function createServer(pipeline: Pipeline, pages?: CorePages): Promise<Hono> {
  const app = new Hono();
  const { manifest } = pipeline;
  app.use('*', secureHeaders({ contentSecurityPolicy: undefined, crossOriginEmbedderPolicy: false }));
  // Pages and JSON go out compressed (event streams and pre-compressed assets are left as they are).
  app.use('*', compress());
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
  const rates = new StepRates(pipeline);
  app.get('/api/pipeline/events', (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    return denied ? c.json({ error: denied.message }, denied.status) : pipelineEvents(c, pipeline, rates);
  });
  app.get('/api/pipeline/steps/:step', (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    return denied ? c.json({ error: denied.message }, denied.status) : stepDetails(c, pipeline, rates);
  });

  const deadLetterQuery = (url: string) => {
    const params = new URL(url).searchParams;
    const steps = params.get('steps')?.split(',').filter(Boolean);
    const limit = Math.min(Math.max(Math.trunc(Number(params.get('limit') ?? 100)) || 100, 1), 1000);
    const offset = Math.max(Math.trunc(Number(params.get('offset') ?? 0)) || 0, 0);
    return { steps, limit, offset };
  };
  app.get('/api/dead-letter', async (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.json({ error: denied.message }, denied.status);
    const query = deadLetterQuery(c.req.url);
    return c.json({ ...(await pipeline.deadLetters.list(query)), ...query });
  });

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
  app.get('/api/openapi.json', (c) => c.json(openApiDocument(pipeline, openapiPaths)));

  const viewLinks = () => views.map(([id, view]) => ({ id, ...(view.describe?.() ?? { title: id, path: `/views/${id}` }) }));
  const pipelinePage = (c: Context) => {
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.text(denied.message, denied.status);
    if (!pages) return c.json(pipelineJson());
    return c.html(pages.index({ pipeline: manifest.name, description: manifest.description, views: viewLinks(), steps: rates.steps() }));
  };
  app.get('/', (c) => {
    // A single page is what a viewer wants to land on (API-only views have no page).
    const pagesOnly = viewLinks().filter((l) => l.path.startsWith('/views/'));
    if (pagesOnly.length === 1 && c.req.query('overview') === undefined) return c.redirect(pagesOnly[0].path);
    return pipelinePage(c);
  });
  app.get('/pipeline', pipelinePage);
  app.get('/dead-letter', async (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.text(denied.message, denied.status);
    const query = deadLetterQuery(c.req.url);
    const result = await pipeline.deadLetters.list(query);
    if (!pages) return c.json(result);
    return c.html(pages.deadLetters({ pipeline: manifest.name, ...result, ...query }));
  });
  return app;
}

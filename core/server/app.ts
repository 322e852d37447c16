import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, setCookie } from 'hono/cookie';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { AccessArea } from '../manifest/access.ts';
import { TOKEN_COOKIE, tokenOf, type Denial } from '../runtime/access.ts';
import type { Pipeline } from '../runtime/pipeline.ts';
import { isCrossSite, localPath, signInPath, type StepStats } from '../sdk/index.ts';
import { mountDeadLetters, type DeadLetterPageInput } from './dead-letter.ts';
import { openApiDocument } from './openapi.ts';
import { pipelineEvents, StepRates, stepDetails, type LiveStepStats } from './pipeline-live.ts';

/** Server-rendered pages the view plugins provide (kept out of core so core has no UI code). */
export interface CorePages {
  index(input: {
    pipeline: string;
    description?: string;
    views: { id: string; title: string; path: string }[];
    steps: (StepStats | LiveStepStats)[];
  }): string;
  deadLetters(input: DeadLetterPageInput): string;
  signIn(input: { pipeline: string; next: string; error?: string }): string;
}

/** How long the sign-in cookie lasts. */
const SIGN_IN_DAYS = 7;

/**
 * The HTTP surface of a running pipeline: health, readiness, Prometheus metrics, the pipeline graph,
 * dead letters, OpenAPI, sign-in, and every view mounted at /views/<id> (pages) and /api/views/<id> (data).
 *
 * Access (deny by default once the manifest declares roles): the overview, /api/pipeline and /api/openapi.json
 * need the `pipeline` area's role, everything under /dead-letter and /api/dead-letter the `dead-letter` area's,
 * /metrics the `metrics` area's (`access:` names them; default viewer). Open to all: /healthz and /readyz (probes
 * carry no token; /readyz names a failing connection's error only to the `pipeline` role), /sign-in, and the
 * pages' static assets. A browser refused for want of a token is sent to /sign-in and back.
 */
export async function createServer(pipeline: Pipeline, pages?: CorePages): Promise<Hono> {
  const app = new Hono();
  const { manifest } = pipeline;
  const access = pipeline.access;
  app.use('*', secureHeaders({ contentSecurityPolicy: undefined, crossOriginEmbedderPolicy: false }));
  // Pages and JSON go out compressed (event streams and pre-compressed assets are left as they are).
  app.use('*', compress());
  // CORS is closed unless the manifest lists origins; credentials never go to a wildcard.
  if (manifest.server.cors.length) app.use('/api/*', cors({ origin: manifest.server.cors, credentials: false }));

  /** Lets a request through when it holds the area's role; otherwise JSON/text for programs, sign-in for browsers. */
  const guard =
    (area: AccessArea, answer: 'json' | 'text' | 'html'): MiddlewareHandler =>
    async (c, next) => {
      const denied = access.checkArea(c.req.raw, area);
      if (!denied) return next();
      return refuse(c, denied, answer);
    };
  app.use('/metrics', guard('metrics', 'text'));
  for (const path of ['/api/pipeline', '/api/pipeline/*', '/api/openapi.json'])
    app.use(path, guard('pipeline', 'json'));
  // Whatever is added under these paths (the dead-letter actions) is covered too.
  for (const path of ['/api/dead-letter', '/api/dead-letter/*']) app.use(path, guard('dead-letter', 'json'));
  for (const path of ['/dead-letter', '/dead-letter/*']) app.use(path, guard('dead-letter', 'html'));

  app.get('/healthz', (c) => c.json({ status: 'ok', pipeline: manifest.name }));
  app.get('/readyz', async (c) => {
    const checked = await pipeline.connections.check();
    const ready = checked.every((x) => x.ok);
    const detailed = !access.checkArea(c.req.raw, 'pipeline');
    const connections = detailed ? checked : checked.map(({ name, ok }) => ({ name, ok }));
    return c.json({ status: ready ? 'ready' : 'not ready', connections }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.text(await pipeline.metrics.text(), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );

  const pipelineJson = () => ({
    name: manifest.name,
    description: manifest.description ?? null,
    manifest: manifest.file,
    connections: pipeline.connections.list(),
    steps: pipeline.stats(),
    deadLetters: pipeline.deadLetters.count(),
  });
  app.get('/api/pipeline', (c) => c.json(pipelineJson()));
  const rates = new StepRates(pipeline);
  app.get('/api/pipeline/events', (c) => pipelineEvents(c, pipeline, rates));
  app.get('/api/pipeline/steps/:step', (c) => stepDetails(c, pipeline, rates));

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
  app.get('/api/openapi.json', (c) => c.json(openApiDocument(pipeline, openapiPaths)));

  const viewLinks = () =>
    views.map(([id, view]) => ({ id, ...(view.describe?.() ?? { title: id, path: `/views/${id}` }) }));
  const pipelinePage = (c: Context) => {
    const denied = access.checkArea(c.req.raw, 'pipeline');
    if (denied) return refuse(c, denied, 'html');
    if (!pages) return c.json(pipelineJson());
    return c.html(
      pages.index({
        pipeline: manifest.name,
        description: manifest.description,
        views: viewLinks(),
        steps: rates.steps(),
      }),
    );
  };
  app.get('/', (c) => {
    // A single page is what a viewer wants to land on (API-only views have no page).
    const pagesOnly = viewLinks().filter((l) => l.path.startsWith('/views/'));
    if (pagesOnly.length === 1 && c.req.query('overview') === undefined) return c.redirect(pagesOnly[0].path);
    return pipelinePage(c);
  });
  app.get('/pipeline', pipelinePage);

  app.get('/sign-in', (c) => {
    const next = localPath(c.req.query('next'));
    // Shown again with a token in the cookie: the token grants nothing (any more), or not what the page needs.
    const token = tokenOf(c.req.raw);
    const roles = token ? access.rolesOf(token) : [];
    const error = !token
      ? undefined
      : roles.length
        ? `You are signed in as ${roles.join(', ')}, which does not open that page: sign in with another token.`
        : 'The token you signed in with is not valid any more: sign in again.';
    if (!pages)
      return c.json({
        signIn: 'POST a form with the field "token" (and "next") to /sign-in',
        next,
        error: error ?? null,
      });
    return c.html(pages.signIn({ pipeline: manifest.name, next, error }));
  });
  app.post(
    '/sign-in',
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('the sign-in form is larger than 16 KiB', 413) }),
    async (c) => {
      if (isCrossSite(c.req.raw)) return c.text('cross-site sign-in refused', 403);
      let form: Record<string, unknown>;
      try {
        form = await c.req.parseBody();
      } catch {
        return c.text('send the sign-in form as application/x-www-form-urlencoded or multipart/form-data', 400);
      }
      const next = localPath(typeof form.next === 'string' ? form.next : undefined);
      const token = typeof form.token === 'string' ? form.token.trim() : '';
      if (!access.enforced()) return c.redirect(next, 303); // nothing to sign in to: every page is open
      if (!token || access.rolesOf(token).length === 0) {
        const error = 'This token is not valid for any role of this pipeline.';
        return pages ? c.html(pages.signIn({ pipeline: manifest.name, next, error }), 401) : c.json({ error }, 401);
      }
      const secure = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
      setCookie(c, TOKEN_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'Lax',
        secure,
        maxAge: SIGN_IN_DAYS * 86_400,
      });
      return c.redirect(next, 303);
    },
  );
  app.post('/sign-out', (c) => {
    if (isCrossSite(c.req.raw)) return c.text('cross-site sign-out refused', 403);
    deleteCookie(c, TOKEN_COOKIE, { path: '/' });
    return c.redirect(signInPath(), 303);
  });
  return app;
}

/** A refusal: JSON or text for programs; a browser without a token goes to the sign-in page, and comes back. */
function refuse(c: Context, denied: Denial, answer: 'json' | 'text' | 'html') {
  if (answer === 'json') return c.json({ error: denied.message }, denied.status);
  if (answer === 'html') {
    const url = new URL(c.req.url);
    return c.redirect(signInPath(url.pathname + url.search), 302);
  }
  return c.text(denied.message, denied.status);
}

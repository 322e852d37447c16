// Route by route, for every manifest in pipelines/: each route of the running server is asked with no token, a
// wrong token and each role's token, and must answer as the table below says (deny by default once roles exist).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { createServer } from '../core/server/app.ts';
import { createCatalog } from '../cli/catalog.ts';
import { corePages, mountCoreAssets } from '../cli/pages.ts';
import { repoRoot } from './cli.ts';

/** `nobody`: a role no one is given (a dashboard's uploads where the manifest names no uploader): 403 for all. */
type Need = 'open' | 'nobody' | { role: string };
/** `any`: a route with its own rules and tests (sign-in): only never a server error. */
type Rule = Need | 'redirect' | 'any';

interface Expectation {
  /** Each role's token variable. */
  tokens: Record<string, string>;
  /** Roles a role also holds. */
  includes?: Record<string, string[]>;
  /** The role of the overview/pipeline API, the dead letters and the metrics. */
  areas: { pipeline: string; 'dead-letter': string; metrics: string };
  /** Each view: 'open' (public) or the role of its page and data; uploads: the role that may upload. */
  views: Record<string, { read: Need; upload?: string }>;
  /** Routes a view adds outside /views/<id> and /api/views/<id> (aliases, health checks): their view. */
  viewRoutes?: Record<string, string>;
}

/** What each manifest promises, written out by hand (not read from the manifests): the test's independent truth. */
const EXPECTED: Record<string, Expectation> = {
  globemart: {
    tokens: { viewer: 'GLOBEMART_VIEWER_TOKEN' },
    areas: { pipeline: 'viewer', 'dead-letter': 'viewer', metrics: 'viewer' },
    views: { dashboard: { read: 'open' } },
  },
  'batch-analytics': {
    tokens: { viewer: 'BATCH_VIEWER_TOKEN' },
    areas: { pipeline: 'viewer', 'dead-letter': 'viewer', metrics: 'viewer' },
    views: { dashboard: { read: 'open' } },
  },
  'economic-analytics': {
    tokens: { accountant: 'ECON_ACCOUNTANT_TOKEN', admin: 'ECON_ADMIN_TOKEN' },
    includes: { admin: ['accountant'] },
    areas: { pipeline: 'admin', 'dead-letter': 'admin', metrics: 'admin' },
    views: { upload: { read: { role: 'accountant' }, upload: 'accountant' }, admin: { read: { role: 'admin' } } },
  },
  'sales-etl': {
    tokens: { viewer: 'SALES_VIEWER_TOKEN' },
    areas: { pipeline: 'viewer', 'dead-letter': 'viewer', metrics: 'viewer' },
    views: { dashboard: { read: 'open' } },
  },
  'revenue-monitor': {
    tokens: { viewer: 'MONITOR_VIEWER_TOKEN' },
    areas: { pipeline: 'viewer', 'dead-letter': 'viewer', metrics: 'viewer' },
    views: { monitor: { read: 'open' }, api: { read: 'open' } },
    viewRoutes: { '/api/kpis/latest': 'api', '/health': 'api' },
  },
};

interface Route {
  method: string;
  /** The route as registered; `path` is what is requested. */
  pattern: string;
  path: string;
  need: Rule;
  page: boolean;
}

/** What a route needs, from the table; a route the table does not know fails the test (decide its access first). */
function classify(pattern: string, method: string, expected: Expectation): Omit<Route, 'method' | 'pattern' | 'path'> {
  const area = (name: keyof Expectation['areas']): Need => ({ role: expected.areas[name] });
  if (['/healthz', '/readyz'].includes(pattern) || pattern.startsWith('/assets/views/'))
    return { need: 'open', page: false };
  if (['/sign-in', '/sign-out'].includes(pattern)) return { need: method === 'GET' ? 'open' : 'any', page: false };
  const viewRoute = expected.viewRoutes?.[pattern];
  if (viewRoute) return { need: expected.views[viewRoute].read, page: false };
  if (pattern === '/' || pattern === '/pipeline') return { need: area('pipeline'), page: true };
  if (pattern === '/api/pipeline' || pattern.startsWith('/api/pipeline/') || pattern === '/api/openapi.json')
    return { need: area('pipeline'), page: false };
  if (pattern === '/metrics') return { need: area('metrics'), page: false };
  if (/^\/dead-letter(\/|$)/.test(pattern)) return { need: area('dead-letter'), page: true };
  if (/^\/api\/dead-letter(\/|$)/.test(pattern)) return { need: area('dead-letter'), page: false };
  const view = /^\/(api\/)?views\/([^/]+)(\/.*)?$/.exec(pattern);
  if (view && expected.views[view[2]]) {
    const { read, upload } = expected.views[view[2]];
    if (!view[1] && view[3] === '/') return { need: 'redirect', page: false }; // /views/x/ → /views/x
    if (view[1] && method === 'POST' && view[3]?.startsWith('/upload/'))
      return { need: upload ? { role: upload } : 'nobody', page: false };
    return { need: read, page: !view[1] };
  }
  throw new Error(
    `${method} ${pattern}: no expected access in tests/access.test.ts — decide who may call it and add it there`,
  );
}

function holds(role: string, needed: string, expected: Expectation): boolean {
  return role === needed || (expected.includes?.[role] ?? []).some((included) => holds(included, needed, expected));
}

const manifests = readdirSync(join(repoRoot, 'pipelines'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

describe('route-by-route access of every manifest in pipelines/', () => {
  it('covers every manifest', () => {
    expect(manifests.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(manifests)('%s', (name) => {
    const expected = EXPECTED[name];
    const tokens = Object.fromEntries(Object.keys(expected.tokens).map((role) => [role, `${role}-${name}-secret`]));
    let pipeline: Pipeline;
    let app: Hono;
    let routes: Route[];

    beforeAll(async () => {
      const catalog = createCatalog();
      const env = Object.fromEntries(
        Object.entries(expected.tokens).map(([role, variable]) => [variable, tokens[role]]),
      );
      const manifest = await loadManifest(join(repoRoot, 'pipelines', `${name}.yaml`), catalog, env);
      pipeline = new Pipeline(manifest, catalog, {
        stateDir: mkdtempSync(join(tmpdir(), `access-${name}-`)),
        logger: new MemoryLogger(),
      });
      await pipeline.start();
      app = await createServer(pipeline, corePages);
      mountCoreAssets(app);
      const seen = new Set<string>();
      routes = app.routes
        .filter((r) => r.method !== 'ALL' && !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`))
        .map((r) => ({
          method: r.method,
          pattern: r.path,
          path: r.path === '/' ? '/?overview=1' : r.path.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'app.css'),
          ...classify(r.path, r.method, expected),
        }));
    }, 120_000);
    afterAll(() => pipeline?.stop());

    const ask = async (route: Route, token: string | undefined, via: 'bearer' | 'cookie' = 'bearer') => {
      const headers: Record<string, string> = { accept: route.page ? 'text/html' : 'application/json' };
      if (token)
        headers[via === 'bearer' ? 'authorization' : 'cookie'] =
          via === 'bearer' ? `Bearer ${token}` : `platform_token=${encodeURIComponent(token)}`;
      const response = await app.request(route.path, {
        method: route.method,
        headers,
        ...(route.method === 'POST' ? { body: new FormData() } : {}),
      });
      await response.body?.cancel(); // live event streams never end by themselves
      return response;
    };

    it('every route answers each token as expected: no token, a wrong token, each role', async () => {
      expect(routes.length).toBeGreaterThan(10);
      const callers: [string, string | undefined][] = [
        ['no token', undefined],
        ['a wrong token', 'wrong-token'],
        ...Object.entries(tokens).map(([role, token]) => [role, token] as [string, string]),
      ];
      const problems: string[] = [];
      for (const route of routes) {
        for (const [who, token] of callers) {
          const response = await ask(route, token, route.page ? 'cookie' : 'bearer');
          const status = response.status;
          const location = response.headers.get('location') ?? '';
          const label = `${route.method} ${route.path} as ${who}: ${status}${location ? ` → ${location}` : ''}`;
          // 503 is an answer (a health check of stale data, /readyz); any other 5xx is a failure.
          if (status >= 500 && status !== 503) problems.push(`${label} (server error)`);
          if (route.need === 'any') continue;
          if (route.need === 'redirect') {
            if (status !== 302 || location.startsWith('/sign-in'))
              problems.push(`${label} (expected a plain redirect)`);
            continue;
          }
          const need = route.need;
          const allowed =
            need === 'open' ||
            (typeof need === 'object' &&
              token !== undefined &&
              Object.entries(tokens).some(([role, t]) => t === token && holds(role, need.role, expected)));
          if (need === 'nobody') {
            if (status !== 403) problems.push(`${label} (expected 403: nobody holds the role)`);
          } else if (allowed) {
            if (status === 401 || status === 403 || location.startsWith('/sign-in'))
              problems.push(`${label} (expected to be let in)`);
          } else if (route.page) {
            if (status !== 302 || !location.startsWith(`/sign-in?next=${encodeURIComponent(route.path)}`))
              problems.push(`${label} (expected the sign-in page)`);
          } else if (status !== (token ? 403 : 401)) {
            problems.push(`${label} (expected ${token ? 403 : 401})`);
          }
        }
      }
      expect(problems).toEqual([]);
    }, 120_000);

    it('the protected APIs also refuse a wrong cookie, and let the right one in', async () => {
      const protectedApi = routes.filter((r) => !r.page && typeof r.need === 'object' && r.method === 'GET');
      expect(protectedApi.length).toBeGreaterThan(0);
      for (const route of protectedApi) {
        expect((await ask(route, 'wrong-token', 'cookie')).status, route.path).toBe(403);
        const role = (route.need as { role: string }).role;
        expect([401, 403], route.path).not.toContain((await ask(route, tokens[role], 'cookie')).status);
      }
    });
  });
});

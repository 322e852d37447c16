// Test helpers for views: mount a view the way the server does, and a pipeline status with chosen step stats.
import { Hono } from 'hono';
import type { Access, PipelineStatus, SqlClient, StepStats, View } from '../../../core/sdk/index.ts';
import { AccessControl, createTestStep } from '../../../core/testing.ts';

/** A root app with the view mounted at /views/<id> and /api/views/<id>, as core/server does. */
export async function mountView(view: View, id: string, root = new Hono()): Promise<Hono> {
  const pages = new Hono();
  const api = new Hono();
  await view.mount({ pages, api, root, paths: { pages: `/views/${id}`, api: `/api/views/${id}` } });
  root.route(`/views/${id}`, pages);
  root.route(`/api/views/${id}`, api);
  return root;
}

export function stepStats(id: string, overrides: Partial<StepStats> = {}): StepStats {
  return {
    id,
    kind: 'sink',
    use: 'duckdb',
    from: [],
    recordsIn: 0,
    recordsOut: 0,
    rejected: 0,
    errors: 0,
    batches: 0,
    batchesInDuckDb: 0,
    lastCommitAt: null,
    watermark: null,
    lastError: null,
    location: { file: 'test.yaml', line: 1 },
    run: { startedAt: new Date(0).toISOString(), rejected: 0 },
    ...overrides,
  };
}

/** A mutable status: tests change `stats` to simulate commits. */
export function fakeStatus(stats: StepStats[], name = 'test'): PipelineStatus & { stats: StepStats[] } {
  const status = {
    name,
    stats,
    steps: () => status.stats.map((s) => ({ ...s })),
    step: (id: string) => status.stats.find((s) => s.id === id),
    upstream(id: string): string[] {
      const out = new Set<string>();
      const visit = (step: string) => {
        if (out.has(step)) return;
        out.add(step);
        for (const input of status.stats.find((s) => s.id === step)?.from ?? []) visit(input);
      };
      visit(id);
      return [...out];
    },
  };
  return status;
}

/** The runtime's role checks with these roles' tokens (`Authorization: Bearer <token>` or the sign-in cookie). */
export function tokenAccess(tokens: Record<string, string>, publicViews: string[] = []): Access {
  return new AccessControl({
    roles: Object.fromEntries(Object.entries(tokens).map(([role, token]) => [role, { token }])),
    public: publicViews,
  });
}

/** An in-memory DuckDB SqlClient through the real connection registry (built via the api view's test step). */
export async function testDuckDb(): Promise<{ client: SqlClient; close(): Promise<void> }> {
  const { default: api } = await import('../api/index.ts');
  const step = await createTestStep<View>(
    api,
    'view',
    { endpoints: [{ path: 'x', query: 'SELECT 1' }] },
    { connections: { db: { type: 'duckdb', path: ':memory:' } }, connection: 'db' },
  );
  return { client: await step.services.connections.get<SqlClient>('db'), close: () => step.close() };
}

// The dead-letter routes: list and filter (viewer), replay (the manifest's deadLetter.replayRole), and the page.
import type { Hono } from 'hono';
import type { Pipeline } from '../runtime/pipeline.ts';
import { errorMessage, isCrossSite, type DeadLetterEntry, type DeadLetterQuery, type ReplayResult } from '../sdk/index.ts';

/** What the dead-letter page is given (the page itself comes from the views package). */
export interface DeadLetterPageInput {
  pipeline: string;
  entries: DeadLetterEntry[];
  total: number;
  steps?: string[];
  reason?: string;
  since?: string;
  offset: number;
  limit: number;
  /** The request may replay (it holds the replay role): the page shows the Replay action. */
  canReplay?: boolean;
  /** The outcome of the replay just done (after the page's Replay form). */
  replayed?: Pick<ReplayResult, 'selected' | 'landed' | 'rejectedAgain'> & { skipped: number };
}

export interface DeadLetterFilters extends DeadLetterQuery {
  limit: number;
  offset: number;
}

/** Filters from the query string: steps (comma-separated), reason, since, limit (1–1000), offset. */
export function deadLetterFilters(url: string): DeadLetterFilters {
  const params = new URL(url).searchParams;
  const steps = (params.get('steps') ?? params.get('step'))?.split(',').filter(Boolean);
  const reason = params.get('reason')?.trim() || undefined;
  const since = params.get('since')?.trim() || undefined;
  const limit = Math.min(Math.max(Number(params.get('limit') ?? 100) || 100, 1), 1000);
  const offset = Math.max(Number(params.get('offset') ?? 0) || 0, 0);
  return { ...(steps?.length ? { steps } : {}), ...(reason ? { reason } : {}), ...(since ? { since } : {}), limit, offset };
}

export function mountDeadLetters(app: Hono, pipeline: Pipeline, page?: (input: DeadLetterPageInput) => string): void {
  const access = pipeline.services.access;
  const role = pipeline.manifest.deadLetter.replayRole;
  // A role the manifest does not declare is open; where other roles need a token, replaying must not be open.
  const roles = pipeline.manifest.access.roles;
  const undeclared = !roles[role] && Object.values(roles).some((r) => r.token);
  const mayReplay = (request: Request): { status: 401 | 403; message: string } | null =>
    undeclared ? { status: 403, message: `replaying needs the ${role} role: declare it under access.roles (or name another in deadLetter.replayRole)` } : access.check(request, role);

  app.get('/api/dead-letter', async (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.json({ error: denied.message }, denied.status);
    const filters = deadLetterFilters(c.req.url);
    try {
      return c.json({ ...(await pipeline.deadLetters.list(filters)), ...filters });
    } catch (error) {
      return c.json({ error: errorMessage(error), parameter: 'since' }, 400);
    }
  });

  // Replays the dead letters the filters (or `ids`) choose; JSON in, the replay's outcome out.
  app.post('/api/dead-letter/replay', async (c) => {
    const denied = mayReplay(c.req.raw);
    if (denied) return c.json({ error: denied.message }, denied.status);
    if (isCrossSite(c.req.raw)) return c.json({ error: 'cross-site replay refused' }, 403);
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      return c.json({ error: 'send a JSON object: { "steps": [...], "reason": "...", "since": "...", "ids": [...] }' }, 400);
    }
    const query = replayQuery(body);
    if (typeof query === 'string') return c.json({ error: query }, 400);
    try {
      return c.json(await pipeline.replay(query));
    } catch (error) {
      return c.json({ error: `replay failed: ${errorMessage(error)}` }, 502);
    }
  });

  app.get('/dead-letter', async (c) => {
    const denied = access.check(c.req.raw, 'viewer');
    if (denied) return c.text(denied.message, denied.status);
    const filters = deadLetterFilters(c.req.url);
    let result;
    try {
      result = await pipeline.deadLetters.list(filters);
    } catch (error) {
      return c.text(errorMessage(error), 400);
    }
    if (!page) return c.json(result);
    const params = new URL(c.req.url).searchParams;
    const replayed = params.has('replayed')
      ? { selected: Number(params.get('replayed')), landed: Number(params.get('landed') ?? 0), rejectedAgain: Number(params.get('again') ?? 0), skipped: Number(params.get('skipped') ?? 0) }
      : undefined;
    return c.html(page({ pipeline: pipeline.manifest.name, ...result, ...filters, canReplay: !mayReplay(c.req.raw), replayed }));
  });

  // The page's Replay form: replays what the page shows (its filters) and comes back to it with the outcome.
  app.post('/dead-letter/replay', async (c) => {
    const denied = mayReplay(c.req.raw);
    if (denied) return c.text(denied.message, denied.status);
    if (isCrossSite(c.req.raw)) return c.text('cross-site replay refused', 403);
    const form = await c.req.parseBody();
    const text = (name: string) => (typeof form[name] === 'string' && (form[name] as string).trim()) || undefined;
    const query = replayQuery({ steps: text('steps')?.split(',').filter(Boolean), reason: text('reason'), since: text('since') });
    if (typeof query === 'string') return c.text(query, 400);
    const result = await pipeline.replay(query);
    const back = new URLSearchParams();
    if (query.steps?.length) back.set('steps', query.steps.join(','));
    if (query.reason) back.set('reason', query.reason);
    if (query.since) back.set('since', query.since);
    back.set('replayed', String(result.selected));
    back.set('landed', String(result.landed));
    back.set('again', String(result.rejectedAgain));
    back.set('skipped', String(result.skipped.length));
    return c.redirect(`/dead-letter?${back}`, 303);
  });
}

/** The replay's choice from a request body, or what is wrong with it. */
function replayQuery(body: Record<string, unknown>): DeadLetterQuery | string {
  const query: DeadLetterQuery = {};
  const steps = typeof body.steps === 'string' ? body.steps.split(',').filter(Boolean) : body.steps;
  if (steps !== undefined) {
    if (!Array.isArray(steps) || steps.some((s) => typeof s !== 'string')) return 'steps: a list of step ids';
    if (steps.length) query.steps = steps as string[];
  }
  if (body.reason !== undefined) {
    if (typeof body.reason !== 'string') return 'reason: a text';
    if (body.reason.trim()) query.reason = body.reason.trim();
  }
  if (body.since !== undefined) {
    if (typeof body.since !== 'string' || Number.isNaN(new Date(body.since).getTime())) return 'since: an ISO date or time';
    query.since = body.since;
  }
  if (body.ids !== undefined) {
    if (!Array.isArray(body.ids) || body.ids.some((id) => !Number.isSafeInteger(id))) return 'ids: a list of dead-letter ids';
    query.ids = body.ids as number[];
  }
  return query;
}

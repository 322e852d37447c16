// The dead-letter routes: list and filter (the dead-letter area's role), replay (deadLetter.replayRole), and the page.
import type { Hono } from 'hono';
import type { Pipeline } from '../runtime/pipeline.ts';
import {
  errorMessage,
  isCrossSite,
  type DeadLetterEntry,
  type DeadLetterQuery,
  type ReplayResult,
} from '../sdk/index.ts';

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

/** A query parameter out of range: answered 400 naming it. */
export class ParameterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Filters from the query string: steps (comma-separated), reason, since (an ISO time), limit (1–1000, default 100),
 * offset (≥ 0, default 0). A value out of range throws a ParameterError naming it.
 */
export function deadLetterFilters(url: string): DeadLetterFilters {
  const params = new URL(url).searchParams;
  const steps = (params.get('steps') ?? params.get('step'))?.split(',').filter(Boolean);
  const reason = params.get('reason')?.trim() || undefined;
  const since = params.get('since')?.trim() || undefined;
  if (since && Number.isNaN(new Date(since).getTime()))
    throw new ParameterError('since', `since must be an ISO date or time (got ${JSON.stringify(since)})`);
  const limit = integerParameter(params, 'limit', 1, 1000, 100);
  const offset = integerParameter(params, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
  return {
    ...(steps?.length ? { steps } : {}),
    ...(reason ? { reason } : {}),
    ...(since ? { since } : {}),
    limit,
    offset,
  };
}

function integerParameter(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ParameterError(name, `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

export function mountDeadLetters(app: Hono, pipeline: Pipeline, page?: (input: DeadLetterPageInput) => string): void {
  // Listing and the page are the dead-letter area's (checked by the server for every /dead-letter and
  // /api/dead-letter route); replaying also needs the manifest's deadLetter.replayRole.
  const access = pipeline.services.access;
  const role = pipeline.manifest.deadLetter.replayRole;
  const mayReplay = (request: Request) => access.check(request, role);

  app.get('/api/dead-letter', async (c) => {
    let filters: DeadLetterFilters;
    try {
      filters = deadLetterFilters(c.req.url);
    } catch (error) {
      if (error instanceof ParameterError) return c.json({ error: error.message, parameter: error.parameter }, 400);
      throw error;
    }
    return c.json({ ...(await pipeline.deadLetters.list(filters)), ...filters });
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
      return c.json(
        { error: 'send a JSON object: { "steps": [...], "reason": "...", "since": "...", "ids": [...] }' },
        400,
      );
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
    let filters: DeadLetterFilters;
    try {
      filters = deadLetterFilters(c.req.url);
    } catch (error) {
      if (error instanceof ParameterError) return c.text(error.message, 400);
      throw error;
    }
    const result = await pipeline.deadLetters.list(filters);
    if (!page) return c.json(result);
    const params = new URL(c.req.url).searchParams;
    const replayed = params.has('replayed')
      ? {
          selected: Number(params.get('replayed')),
          landed: Number(params.get('landed') ?? 0),
          rejectedAgain: Number(params.get('again') ?? 0),
          skipped: Number(params.get('skipped') ?? 0),
        }
      : undefined;
    return c.html(
      page({ pipeline: pipeline.manifest.name, ...result, ...filters, canReplay: !mayReplay(c.req.raw), replayed }),
    );
  });

  // The page's Replay form: replays what the page shows (its filters) and comes back to it with the outcome.
  app.post('/dead-letter/replay', async (c) => {
    const denied = mayReplay(c.req.raw);
    if (denied) return c.text(denied.message, denied.status);
    if (isCrossSite(c.req.raw)) return c.text('cross-site replay refused', 403);
    const form = await c.req.parseBody();
    const text = (name: string) => (typeof form[name] === 'string' && (form[name] as string).trim()) || undefined;
    const query = replayQuery({
      steps: text('steps')?.split(',').filter(Boolean),
      reason: text('reason'),
      since: text('since'),
    });
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
    if (typeof body.since !== 'string' || Number.isNaN(new Date(body.since).getTime()))
      return 'since: an ISO date or time';
    query.since = body.since;
  }
  if (body.ids !== undefined) {
    if (!Array.isArray(body.ids) || body.ids.some((id) => !Number.isSafeInteger(id)))
      return 'ids: a list of dead-letter ids';
    query.ids = body.ids as number[];
  }
  return query;
}

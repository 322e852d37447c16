// The dead-letter routes: filtering (the dead-letter area), replay (deadLetter.replayRole only, never cross-site), and the page's
// Replay action, as a user drives them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServer } from './app.ts';
import { corePages } from '../../cli/pages.ts';
import { runManifest } from '../../tests/manifest.ts';
import type { DuckDbClient } from '../../connections/duckdb/index.ts';

async function served(minimum: number, dir = mkdtempSync(join(tmpdir(), 'dl-server-'))) {
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(
    join(dir, 'in', 'a.jsonl'),
    [1, 2, 3, 4].map((id) => JSON.stringify({ id, amount: id * 10 })).join('\n') + '\n',
  );
  const run = await runManifest(
    `name: dl-server
access:
  roles:
    viewer: { token: see }
    admin: { token: fix, includes: [viewer] }
deadLetter: { replayRole: admin }
connections:
  wh: { type: duckdb, path: "${join(dir, 'wh.duckdb')}" }
sources:
  files: { use: file, with: { path: "${join(dir, 'in', '*.jsonl')}" } }
transforms:
  checked: { use: validate, from: files, with: { schema: { properties: { amount: { type: number, minimum: ${minimum} } } } } }
sinks:
  out: { use: duckdb, from: checked, connection: wh, with: { table: out, mode: upsert, key: [id], createTable: true } }
`,
    dir,
  );
  return { ...run, app: await createServer(run.pipeline, corePages), dir };
}

const as = (token: string, extra: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${token}`, ...extra },
});

describe('dead-letter routes', () => {
  it('lists by step, reason text and time, for viewers; refuses a time that is not one', async () => {
    const { app, pipeline } = await served(25);
    const list = async (query: string) =>
      (await (await app.request(`/api/dead-letter?${query}`, as('see'))).json()) as {
        total: number;
        entries: { record: { id: number } }[];
      };
    expect((await list('steps=checked')).total).toBe(2);
    expect((await list('reason=MUST%20BE%20%3E%3D%2025')).entries.map((e) => e.record.id)).toEqual([2, 1]);
    expect((await list(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total).toBe(0);
    expect((await app.request('/api/dead-letter?since=soon', as('see'))).status).toBe(400);
    expect((await app.request('/api/dead-letter')).status).toBe(401);
    await pipeline.stop();
  });

  it('replays for the replay role only, never from another site with a cookie', async () => {
    const { app, pipeline } = await served(25);
    const replay = (init: RequestInit) => app.request('/api/dead-letter/replay', { method: 'POST', ...init });
    expect((await replay({ body: '{}' })).status).toBe(401);
    expect((await replay({ body: '{}', ...as('see') })).status).toBe(403);
    expect(
      (
        await replay({
          body: '{}',
          headers: { cookie: 'platform_token=fix', origin: 'https://evil.example', host: 'localhost' },
        })
      ).status,
    ).toBe(403);
    expect(await (await replay({ body: '{"since":"soon"}', ...as('fix') })).json()).toEqual({
      error: 'since: an ISO date or time',
    });
    // Nothing is fixed yet: both are rejected again, for the same reason, and stay once.
    expect(
      await (
        await replay({ body: '{"steps":["checked"]}', ...as('fix', { 'content-type': 'application/json' }) })
      ).json(),
    ).toEqual({ selected: 2, landed: 0, rejectedAgain: 2, skipped: [] });
    expect(pipeline.deadLetters.count()).toBe(2);
    await pipeline.stop();
  });

  it('replays for whoever may read the dead letters when no replay role is named; an undeclared replay role fails validation', async () => {
    const manifest = (extra: string) => `name: dl-guarded
access:
  roles:
    viewer: { token: see }
${extra}sources:
  gen: { use: generator, with: { count: 1, fields: { n: { sequence: {} } } } }
sinks:
  out: { use: console, from: gen }
`;
    const run = await runManifest(manifest(''));
    const app = await createServer(run.pipeline, corePages);
    expect((await app.request('/api/dead-letter/replay', { method: 'POST', body: '{}' })).status).toBe(401);
    const replayed = await app.request('/api/dead-letter/replay', { method: 'POST', body: '{}', ...as('see') });
    expect([replayed.status, await replayed.json()]).toEqual([
      200,
      { selected: 0, landed: 0, rejectedAgain: 0, skipped: [] },
    ]);
    await run.pipeline.stop();
    await expect(runManifest(manifest('deadLetter: { replayRole: admin }\n'))).rejects.toThrow(
      'deadLetter.replayRole: role "admin" is not declared under access.roles (declared: viewer)',
    );
  });

  it('shows the Replay action to the replay role on the page, replays what the page lists, and says what happened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-server-'));
    const first = await served(25, dir);
    await first.pipeline.stop();
    // The rule is fixed: the same state folder, a manifest accepting every amount.
    const { app, pipeline } = await served(0, dir);
    const viewerPage = await (await app.request('/dead-letter?steps=checked', as('see'))).text();
    expect(viewerPage).toContain('2 records');
    expect(viewerPage).not.toContain('action="/dead-letter/replay"');
    const adminPage = await (await app.request('/dead-letter?steps=checked', as('fix'))).text();
    expect(adminPage).toMatch(
      /<form method="post" action="\/dead-letter\/replay"><input type="hidden" name="steps" value="checked"\/><button class="btn btn-primary" type="submit"[^>]*>Replay 2<\/button>/,
    );
    const body = new URLSearchParams({ steps: 'checked' });
    const posted = await app.request('/dead-letter/replay', {
      method: 'POST',
      body,
      headers: { authorization: 'Bearer fix', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe('/dead-letter?steps=checked&replayed=2&landed=2&again=0&skipped=0');
    const after = await (await app.request(posted.headers.get('location')!, as('fix'))).text();
    expect(after).toContain('Replayed 2: 2 landed, 0 rejected again');
    expect(after).toContain('No rejected records');
    const db = await pipeline.connections.get<DuckDbClient>('wh', 'duckdb');
    expect((await db.query('SELECT id FROM out ORDER BY id')).map((r) => r.id)).toEqual([1, 2, 3, 4]);
    await pipeline.stop();
  });
});

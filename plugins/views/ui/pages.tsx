// Server-rendered pages: the dashboard document, the pipeline overview (/) and the dead-letter browser.
import type { JSX } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { DeadLetterEntry, StepStats } from '../../../core/sdk/index.ts';
import { Dashboard } from './app.tsx';
import { deadLetterHref } from './components/card.tsx';
import { TopBar } from './components/header.tsx';
import { defaultAssets, renderDocument, type Assets } from './document.ts';
import { formatTime, formatValue, timeAgo } from './format.ts';
import type { PageModel } from './types.ts';

export function renderDashboardPage(model: PageModel, assets: Assets = defaultAssets()): string {
  return renderDocument({ title: `${model.title} · ${model.pipeline}`, body: renderToString(<Dashboard model={model} />), assets, model });
}

export interface IndexPageInput {
  pipeline: string;
  description?: string;
  views: { id?: string; title: string; path: string }[];
  steps: StepStats[];
  assets?: Assets;
}

export function renderIndexPage(input: IndexPageInput): string {
  return renderDocument({ title: `${input.pipeline} · pipeline`, body: renderToString(<IndexPage {...input} now={Date.now()} />), assets: input.assets ?? defaultAssets() });
}

const n = (value: number) => formatValue(value, { format: 'integer' });

function Ago({ iso, now }: { iso: string | null; now: number }): JSX.Element {
  if (!iso) return <span class="muted">—</span>;
  return <time dateTime={iso} title={formatTime(iso)}>{timeAgo(iso, now)}</time>;
}

function KindBadge({ kind }: { kind: string }): JSX.Element {
  return <span class={`badge badge-${kind}`}>{kind}</span>;
}

/** Steps with their inputs first, so the table reads like the pipeline flows. */
function flowOrder(steps: StepStats[]): StepStats[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const out: StepStats[] = [];
  const seen = new Set<string>();
  const visit = (step: StepStats) => {
    if (seen.has(step.id)) return;
    seen.add(step.id);
    for (const input of step.from) if (byId.has(input)) visit(byId.get(input)!);
    out.push(step);
  };
  const rank = { source: 0, transform: 1, sink: 2, view: 3 } as Record<string, number>;
  [...steps].sort((a, b) => (rank[a.kind] ?? 9) - (rank[b.kind] ?? 9)).forEach(visit);
  return out;
}

function IndexPage({ pipeline, description, views, steps, now }: IndexPageInput & { now: number }): JSX.Element {
  const ordered = flowOrder(steps);
  const rejected = steps.reduce((sum, s) => sum + s.rejected, 0);
  const failing = steps.filter((s) => s.lastError);
  const lastCommit = steps.map((s) => s.lastCommitAt).filter((x): x is string => Boolean(x)).sort().at(-1) ?? null;
  return (
    <div class="app">
      <TopBar pipeline={pipeline} />
      <div class="container">
        <header class="page-header">
          <div class="page-titles">
            <h1>{pipeline}</h1>
            {description && <p class="page-desc">{description}</p>}
          </div>
          <div class="page-meta">
            <span class="meta-item">{lastCommit ? <>Last commit <Ago iso={lastCommit} now={now} /></> : 'No commit yet'}</span>
            {rejected > 0 ? <a class="meta-item meta-warn" href={deadLetterHref(steps.map((s) => s.id))}>{n(rejected)} rejected</a> : <span class="meta-item">0 rejected</span>}
            {failing.length > 0 && <span class="pill pill-crit"><span class="pill-dot" />{failing.length} failing</span>}
          </div>
        </header>
        {views.length > 0 && (
          <section class="views">
            {views.map((v) => (
              <a class="card view-link" href={v.path} key={v.path}>
                <span class="view-title">{v.title}</span>
                <span class="view-path">{v.path}</span>
              </a>
            ))}
          </section>
        )}
        <section class="card span-4">
          <header class="card-head"><div class="card-titles"><h2 class="card-title">Steps</h2><p class="card-desc">In flow order: every step with its inputs, throughput, rejects and freshness.</p></div></header>
          <div class="card-body">
            <div class="table-wrap">
              <table class="data steps">
                <thead>
                  <tr><th>Step</th><th>Plugin</th><th>From</th><th class="num">In</th><th class="num">Out</th><th class="num">Rejected</th><th>Last commit</th><th>Watermark</th><th>Status</th></tr>
                </thead>
                <tbody>
                  {ordered.map((s) => (
                    <tr id={`step-${s.id}`} key={s.id}>
                      <td><span class="step-id">{s.id}</span> <KindBadge kind={s.kind} /></td>
                      <td><code>{s.use}</code></td>
                      <td>{s.from.length ? s.from.map((f, i) => <span key={f}>{i > 0 && ', '}<a href={`#step-${f}`}>{f}</a></span>) : <span class="muted">—</span>}</td>
                      <td class="num">{n(s.recordsIn)}</td>
                      <td class="num">{n(s.recordsOut)}</td>
                      <td class="num">{s.rejected > 0 ? <a class="text-warn" href={deadLetterHref([s.id])}>{n(s.rejected)}</a> : <span class="muted">0</span>}</td>
                      <td><Ago iso={s.lastCommitAt} now={now} /></td>
                      <td>{s.watermark ? formatTime(s.watermark) : <span class="muted">—</span>}</td>
                      <td>{s.lastError ? <span class="text-crit" title={s.lastError}>{s.errors} error{s.errors === 1 ? '' : 's'}: {s.lastError}</span> : <span class="pill pill-ok"><span class="pill-dot" />OK</span>}</td>
                    </tr>
                  ))}
                  {ordered.length === 0 && <tr><td class="no-match" colSpan={9}>The pipeline has no steps.</td></tr>}
                </tbody>
              </table>
            </div>
          </div>
        </section>
      </div>
    </div>
  );
}

export interface DeadLetterPageInput {
  pipeline?: string;
  entries: DeadLetterEntry[];
  total: number;
  steps?: string[];
  /** Text in the reasons the list is filtered by. */
  reason?: string;
  since?: string;
  offset?: number;
  limit?: number;
  /** The viewer holds the replay role: the page offers to replay what it lists. */
  canReplay?: boolean;
  /** The outcome of the replay just done. */
  replayed?: { selected: number; landed: number; rejectedAgain: number; skipped: number };
  assets?: Assets;
}

export function renderDeadLetterPage(input: DeadLetterPageInput): string {
  return renderDocument({ title: `Dead letters · ${input.pipeline ?? 'pipeline'}`, body: renderToString(<DeadLetterPage {...input} now={Date.now()} />), assets: input.assets ?? defaultAssets() });
}

function recordText(record: unknown): string {
  const text = typeof record === 'string' ? record : JSON.stringify(record, null, 2) ?? String(record);
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

function DeadLetterPage({ pipeline = 'pipeline', entries, total, steps, reason, since, offset = 0, limit = 100, canReplay, replayed, now }: DeadLetterPageInput & { now: number }): JSX.Element {
  const filters = new URLSearchParams({ ...(steps?.length ? { steps: steps.join(',') } : {}), ...(reason ? { reason } : {}), ...(since ? { since } : {}) });
  const page = (o: number) => `/dead-letter?${filters.toString() ? `${filters}&` : ''}offset=${Math.max(0, o)}&limit=${limit}`;
  return (
    <div class="app">
      <TopBar pipeline={pipeline} />
      <div class="container">
        <header class="page-header">
          <div class="page-titles">
            <h1>Dead letters</h1>
            <p class="page-desc">Records that failed parsing, validation, a transform or a sink — kept with the step and the reasons.</p>
          </div>
          <div class="page-meta">
            <span class="meta-item" data-total={total}>{n(total)} {total === 1 ? 'record' : 'records'}</span>
            {steps?.length ? <span class="chips">{steps.map((s) => <span class="chip" key={s}>{s}</span>)}<a class="chip chip-clear" href="/dead-letter">All steps</a></span> : null}
          </div>
        </header>
        {replayed && (
          <p class="notice" role="status" data-replayed={replayed.selected}>
            Replayed {n(replayed.selected)}: {n(replayed.landed)} landed, {n(replayed.rejectedAgain)} rejected again (listed with the new reason){replayed.skipped ? `, ${n(replayed.skipped)} skipped (see the log)` : ''}.
          </p>
        )}
        <section class="card span-4">
          <div class="card-body">
            <div class="table-tools">
              <form class="search" method="get" action="/dead-letter">
                {steps?.length ? <input type="hidden" name="steps" value={steps.join(',')} /> : null}
                <input type="search" name="reason" value={reason ?? ''} placeholder="Filter by reason" aria-label="Filter by reason" />
              </form>
              {canReplay && total > 0 && (
                // Replays what the page lists (every page of it), once the manifest or the data is fixed.
                <form method="post" action="/dead-letter/replay">
                  {steps?.length ? <input type="hidden" name="steps" value={steps.join(',')} /> : null}
                  {reason ? <input type="hidden" name="reason" value={reason} /> : null}
                  {since ? <input type="hidden" name="since" value={since} /> : null}
                  <button class="btn btn-primary" type="submit" title="Send these records again through the step that rejected them">Replay {n(total)}</button>
                </form>
              )}
            </div>
            {entries.length === 0 ? (
              <div class="state state-empty"><strong>No rejected records</strong><span>{reason ? `None whose reasons mention "${reason}".` : steps?.length ? `Nothing was rejected by ${steps.join(', ')}.` : 'Nothing was rejected.'}</span></div>
            ) : (
              <div class="table-wrap">
                <table class="data dead-letters">
                  <thead><tr><th class="num">#</th><th>When</th><th>Step</th><th>Reasons</th><th>Origin</th><th>Record</th></tr></thead>
                  <tbody>
                    {entries.map((e) => (
                      <tr key={e.id}>
                        <td class="num muted">{e.id}</td>
                        <td><Ago iso={e.at} now={now} /></td>
                        <td><a href={`/pipeline#step-${encodeURIComponent(e.step)}`}>{e.step}</a></td>
                        <td><ul class="reasons">{e.reasons.map((r, i) => <li key={i}>{r}</li>)}</ul></td>
                        <td>{e.origin ? <code>{e.origin}</code> : <span class="muted">—</span>}</td>
                        <td><pre class="record">{recordText(e.record)}</pre></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {total > limit && (
              <div class="pager">
                <span>{n(offset + 1)}–{n(Math.min(total, offset + entries.length))} of {n(total)}</span>
                {offset > 0 ? <a class="btn" href={page(offset - limit)}>Newer</a> : <span class="btn btn-disabled">Newer</span>}
                {offset + limit < total ? <a class="btn" href={page(offset + limit)}>Older</a> : <span class="btn btn-disabled">Older</span>}
              </div>
            )}
          </div>
        </section>
      </div>
    </div>
  );
}

/** The object the lead's server takes as `CorePages` (index and dead-letter pages). */
export const corePages = {
  index: (input: IndexPageInput) => renderIndexPage(input),
  deadLetters: (input: DeadLetterPageInput) => renderDeadLetterPage(input),
};

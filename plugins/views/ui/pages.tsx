// Server-rendered pages: the dashboard document, the pipeline overview (/) and the dead-letter browser.
import type { JSX } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { DeadLetterEntry } from '../../../core/sdk/index.ts';
import { Dashboard } from './app.tsx';
import { TopBar } from './components/header.tsx';
import { defaultAssets, renderDocument, type Assets } from './document.ts';
import { formatTime, formatValue, timeAgo } from './format.ts';
import { PipelinePage, type LiveStep, type PipelineModel } from './pipeline.tsx';
import { layoutPipeline } from './pipeline-layout.ts';
import type { PageModel } from './types.ts';

export function renderDashboardPage(model: PageModel, assets: Assets = defaultAssets()): string {
  return renderDocument({
    title: `${model.title} · ${model.pipeline}`,
    body: renderToString(<Dashboard model={model} />),
    assets,
    model,
  });
}

export interface IndexPageInput {
  pipeline: string;
  description?: string;
  views: { id?: string; title: string; path: string }[];
  steps: LiveStep[];
  assets?: Assets;
}

/** The pipeline page: the graph laid out here (dagre, on the server), hydrated in the browser for live figures. */
export function renderIndexPage(input: IndexPageInput): string {
  const model: PipelineModel = {
    pipeline: input.pipeline,
    description: input.description,
    views: input.views,
    steps: input.steps,
    layout: layoutPipeline(input.steps),
    at: Date.now(),
  };
  const assets = input.assets ?? defaultAssets();
  return renderDocument({
    title: `${input.pipeline} · pipeline`,
    body: renderToString(<PipelinePage model={model} />),
    assets,
    model,
    script: assets.pipeline,
  });
}

const n = (value: number) => formatValue(value, { format: 'integer' });

function Ago({ iso, now }: { iso: string | null; now: number }): JSX.Element {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {timeAgo(iso, now)}
    </time>
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
  return renderDocument({
    title: `Dead letters · ${input.pipeline ?? 'pipeline'}`,
    body: renderToString(<DeadLetterPage {...input} now={Date.now()} />),
    assets: input.assets ?? defaultAssets(),
  });
}

function recordText(record: unknown): string {
  const text = typeof record === 'string' ? record : (JSON.stringify(record, null, 2) ?? String(record));
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

function DeadLetterPage({
  pipeline = 'pipeline',
  entries,
  total,
  steps,
  reason,
  since,
  offset = 0,
  limit = 100,
  canReplay,
  replayed,
  now,
}: DeadLetterPageInput & { now: number }): JSX.Element {
  const filters = new URLSearchParams({
    ...(steps?.length ? { steps: steps.join(',') } : {}),
    ...(reason ? { reason } : {}),
    ...(since ? { since } : {}),
  });
  const page = (o: number) =>
    `/dead-letter?${filters.toString() ? `${filters}&` : ''}offset=${Math.max(0, o)}&limit=${limit}`;
  return (
    <div class="app">
      <TopBar pipeline={pipeline} />
      <div class="container">
        <header class="page-header">
          <div class="page-titles">
            <h1>Dead letters</h1>
            <p class="page-desc">
              Records that failed parsing, validation, a transform or a sink — kept with the step and the reasons.
            </p>
          </div>
          <div class="page-meta">
            <span class="meta-item" data-total={total}>
              {n(total)} {total === 1 ? 'record' : 'records'}
            </span>
            {steps?.length ? (
              <span class="chips">
                {steps.map((s) => (
                  <span class="chip" key={s}>
                    {s}
                  </span>
                ))}
                <a class="chip chip-clear" href="/dead-letter">
                  All steps
                </a>
              </span>
            ) : null}
          </div>
        </header>
        {replayed && (
          <p class="notice" role="status" data-replayed={replayed.selected}>
            Replayed {n(replayed.selected)}: {n(replayed.landed)} landed, {n(replayed.rejectedAgain)} rejected again
            (listed with the new reason){replayed.skipped ? `, ${n(replayed.skipped)} skipped (see the log)` : ''}.
          </p>
        )}
        <section class="card span-4">
          <div class="card-body">
            <div class="table-tools">
              <form class="search" method="get" action="/dead-letter">
                {steps?.length ? <input type="hidden" name="steps" value={steps.join(',')} /> : null}
                <input
                  type="search"
                  name="reason"
                  value={reason ?? ''}
                  placeholder="Filter by reason"
                  aria-label="Filter by reason"
                />
              </form>
              {canReplay && total > 0 && (
                // Replays what the page lists (every page of it), once the manifest or the data is fixed.
                <form method="post" action="/dead-letter/replay">
                  {steps?.length ? <input type="hidden" name="steps" value={steps.join(',')} /> : null}
                  {reason ? <input type="hidden" name="reason" value={reason} /> : null}
                  {since ? <input type="hidden" name="since" value={since} /> : null}
                  <button
                    class="btn btn-primary"
                    type="submit"
                    title="Send these records again through the step that rejected them"
                  >
                    Replay {n(total)}
                  </button>
                </form>
              )}
            </div>
            {entries.length === 0 ? (
              <div class="state state-empty">
                <strong>No rejected records</strong>
                <span>
                  {reason
                    ? `None whose reasons mention "${reason}".`
                    : steps?.length
                      ? `Nothing was rejected by ${steps.join(', ')}.`
                      : 'Nothing was rejected.'}
                </span>
              </div>
            ) : (
              <div class="table-wrap">
                <table class="data dead-letters">
                  <thead>
                    <tr>
                      <th class="num">#</th>
                      <th>When</th>
                      <th>Step</th>
                      <th>Reasons</th>
                      <th>Origin</th>
                      <th>Record</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.map((e) => (
                      <tr key={e.id}>
                        <td class="num muted">{e.id}</td>
                        <td>
                          <Ago iso={e.at} now={now} />
                        </td>
                        <td>
                          <a href={`/pipeline#step-${encodeURIComponent(e.step)}`}>{e.step}</a>
                        </td>
                        <td>
                          <ul class="reasons">
                            {e.reasons.map((r, i) => (
                              <li key={i}>{r}</li>
                            ))}
                          </ul>
                        </td>
                        <td>{e.origin ? <code>{e.origin}</code> : <span class="muted">—</span>}</td>
                        <td>
                          <pre class="record">{recordText(e.record)}</pre>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {total > limit && (
              <div class="pager">
                <span>
                  {n(offset + 1)}–{n(Math.min(total, offset + entries.length))} of {n(total)}
                </span>
                {offset > 0 ? (
                  <a class="btn" href={page(offset - limit)}>
                    Newer
                  </a>
                ) : (
                  <span class="btn btn-disabled">Newer</span>
                )}
                {offset + limit < total ? (
                  <a class="btn" href={page(offset + limit)}>
                    Older
                  </a>
                ) : (
                  <span class="btn btn-disabled">Older</span>
                )}
              </div>
            )}
          </div>
        </section>
      </div>
    </div>
  );
}

export interface SignInPageInput {
  pipeline: string;
  /** Where to go once signed in (a path of this server). */
  next: string;
  /** Why the page is shown again: a token that grants nothing, or one that lacks the page's role. */
  error?: string;
  assets?: Assets;
}

/** The sign-in page: one token field; the server answers with an HttpOnly cookie and sends the browser back. */
export function renderSignInPage(input: SignInPageInput): string {
  return renderDocument({
    title: `Sign in · ${input.pipeline}`,
    body: renderToString(<SignInPage {...input} />),
    assets: input.assets ?? defaultAssets(),
  });
}

function SignInPage({ pipeline, next, error }: SignInPageInput): JSX.Element {
  return (
    <div class="app">
      <TopBar pipeline={pipeline} />
      <div class="container">
        <section class="card sign-in">
          <header class="card-head">
            <div class="card-titles">
              <h1 class="card-title">Sign in to {pipeline}</h1>
              <p class="card-desc">
                Paste the access token your operator gave you. It is kept in a cookie of this site only.
              </p>
            </div>
          </header>
          <div class="card-body">
            {error && (
              <p class="sign-in-error" role="alert">
                {error}
              </p>
            )}
            <form class="token" method="post" action="/sign-in">
              <input type="hidden" name="next" value={next} />
              <input
                type="password"
                name="token"
                placeholder="Access token"
                autoComplete="current-password"
                required
                autoFocus
                aria-label="Access token"
              />
              <button type="submit" class="btn btn-primary">
                Sign in
              </button>
            </form>
          </div>
        </section>
      </div>
    </div>
  );
}

/** The object the lead's server takes as `CorePages` (index, dead-letter and sign-in pages). */
export const corePages = {
  index: (input: IndexPageInput) => renderIndexPage(input),
  deadLetters: (input: DeadLetterPageInput) => renderDeadLetterPage(input),
  signIn: (input: SignInPageInput) => renderSignInPage(input),
};

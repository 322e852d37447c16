// The pipeline page: the steps as a live graph laid out by the manifest's edges, each node with its throughput,
// backlog, rejects and freshness (updated over server-sent events); a click opens the step: its settings, recent
// errors, a sample of its last batch and its newest dead letters. Phones get the same nodes as a list.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { DeadLetterEntry, StepStats } from '../../../core/sdk/index.ts';
import { deadLetterHref } from './components/card.tsx';
import { TopBar } from './components/header.tsx';
import { formatTime, formatValue, timeAgo } from './format.ts';
import { NODE_SIZE } from './pipeline-size.ts';
import type { GraphLayout } from './types.ts';

export type LiveStep = StepStats & { throughput?: number | null };

export interface PipelineModel {
  pipeline: string;
  description?: string;
  views: { id?: string; title: string; path: string }[];
  steps: LiveStep[];
  layout: GraphLayout;
  at: number;
}

interface StepDetails {
  step: LiveStep;
  config: Record<string, unknown>;
  connection: string | null;
  errors: { at: string; message: string }[];
  sample: Record<string, unknown>[];
  sampledAt: string | null;
  deadLetters: { total: number; entries: DeadLetterEntry[] };
}

const n = (value: number | null | undefined) => formatValue(value ?? 0, { format: 'integer' });

function rate(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value === 0) return '0/s';
  return `${formatValue(value, { decimals: value < 10 ? 1 : 0 })}/s`;
}

/** The figures of a node: what it moved, how fast, what is left, what it rejected, when it last committed. */
function NodeBody({ step, now }: { step: LiveStep; now: number }): JSX.Element {
  const moved = step.kind === 'source' ? step.recordsOut : step.recordsIn;
  const total = step.kind === 'source' ? step.totals?.recordsOut : step.totals?.recordsIn;
  return (
    <>
      <div class="node-head">
        <span class={`node-dot ${step.lastError ? 'node-dot-error' : step.lastCommitAt ? 'node-dot-ok' : ''}`} />
        <span class="node-id" title={step.id}>
          {step.id}
        </span>
        <span class={`badge badge-${step.kind}`}>{step.use}</span>
      </div>
      {step.kind === 'view' ? (
        <p class="node-view">shows {step.from.join(', ') || 'the pipeline'}</p>
      ) : (
        <dl class="node-stats">
          <div
            title={`Records ${step.kind === 'source' ? 'read' : 'received'} since the pipeline started; ${n(total)} all time`}
          >
            <dt>{step.kind === 'source' ? 'read' : 'in'}</dt>
            <dd data-stat="moved">{formatValue(moved, { format: 'integer', compact: true, compactFrom: 10_000 })}</dd>
          </div>
          <div title="Records per second over the last minute">
            <dt>rate</dt>
            <dd data-stat="throughput">{rate(step.throughput)}</dd>
          </div>
          {step.kind === 'source' && step.lag !== undefined && step.lag !== null ? (
            <div title="Backlog: records the source has not read yet">
              <dt>backlog</dt>
              <dd data-stat="lag">
                {formatValue(step.lag, { format: 'integer', compact: true, compactFrom: 10_000 })}
              </dd>
            </div>
          ) : (
            <div title="Records out since the pipeline started">
              <dt>out</dt>
              <dd>{formatValue(step.recordsOut, { format: 'integer', compact: true, compactFrom: 10_000 })}</dd>
            </div>
          )}
          <div title={`Rejected all time (in the dead-letter store); ${n(step.run.rejected)} refused this run`}>
            <dt>rejected</dt>
            <dd data-stat="rejected" class={step.rejected ? 'text-warn' : 'muted'}>
              {formatValue(step.rejected, { format: 'integer', compact: true, compactFrom: 10_000 })}
            </dd>
          </div>
        </dl>
      )}
      <div
        class="node-foot"
        title={step.lastCommitAt ? `Last commit ${formatTime(step.lastCommitAt)}` : 'No commit yet'}
      >
        {step.lastError ? (
          <span class="text-crit">
            {step.errors} error{step.errors === 1 ? '' : 's'}
          </span>
        ) : step.lastCommitAt ? (
          `committed ${timeAgo(step.lastCommitAt, now)}`
        ) : step.kind === 'view' ? (
          'serves pages'
        ) : (
          'no commit yet'
        )}
      </div>
    </>
  );
}

function edgePath(points: [number, number][]): string {
  if (points.length === 0) return '';
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${x},${y}`).join('');
}

export function PipelinePage({ model }: { model: PipelineModel }): JSX.Element {
  const [steps, setSteps] = useState(model.steps);
  const [now, setNow] = useState(model.at);
  const [live, setLive] = useState<'connecting' | 'live' | 'off'>('connecting');
  const [open, setOpen] = useState<string | null>(null);
  const [details, setDetails] = useState<StepDetails | null>(null);
  const [failed, setFailed] = useState<string | null>(null);

  useEffect(() => {
    setNow(Date.now());
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/pipeline/events');
    source.addEventListener('open', () => setLive('live'));
    // The browser reconnects by itself after an error; offline only once it gave up.
    source.addEventListener('error', () => setLive(source.readyState === EventSource.CLOSED ? 'off' : 'connecting'));
    source.addEventListener('stats', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { steps: LiveStep[] };
      setSteps(data.steps);
      setNow(Date.now());
    });
    const hash = decodeURIComponent(location.hash.replace(/^#step-/, ''));
    if (hash && model.steps.some((s) => s.id === hash)) setOpen(hash);
    return () => source.close();
  }, [model]);

  useEffect(() => {
    if (!open) return;
    let gone = false;
    setFailed(null);
    const load = () =>
      fetch(`/api/pipeline/steps/${encodeURIComponent(open)}`, { credentials: 'same-origin' })
        .then(async (r) => (r.ok ? ((await r.json()) as StepDetails) : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then(
          (d) => !gone && setDetails(d),
          (e: Error) => !gone && setFailed(e.message),
        );
    void load();
    const timer = setInterval(load, 5000);
    const escape = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(null);
    document.addEventListener('keydown', escape);
    return () => {
      gone = true;
      clearInterval(timer);
      document.removeEventListener('keydown', escape);
    };
  }, [open]);

  const byId = new Map(steps.map((s) => [s.id, s]));
  const rejected = steps.reduce((sum, s) => sum + s.rejected, 0);
  const run = steps.reduce((sum, s) => sum + (s.run.rejected ?? 0), 0);
  const failing = steps.filter((s) => s.lastError);
  const lastCommit =
    steps
      .map((s) => s.lastCommitAt)
      .filter((x): x is string => Boolean(x))
      .sort()
      .at(-1) ?? null;
  const select = (id: string) => {
    setDetails(null);
    setOpen(id);
    history.replaceState(null, '', `#step-${encodeURIComponent(id)}`);
  };
  const ordered = model.layout.nodes
    .slice()
    .sort((a, b) => a.x - b.x || a.y - b.y)
    .map((node) => byId.get(node.id))
    .filter((s): s is LiveStep => Boolean(s));
  return (
    <div class="app">
      <TopBar pipeline={model.pipeline} />
      <div class="container">
        <header class="page-header">
          <div class="page-titles">
            <h1>{model.pipeline}</h1>
            {model.description && <p class="page-desc">{model.description}</p>}
          </div>
          <div class="page-meta">
            <span
              class={`live live-${live === 'live' ? 'live' : live === 'off' ? 'polling' : 'connecting'}`}
              data-live={live}
            >
              <span class="live-dot" />
              {live === 'live' ? 'Live' : live === 'off' ? 'Offline' : 'Connecting'}
            </span>
            <span class="meta-item">{lastCommit ? `Last commit ${timeAgo(lastCommit, now)}` : 'No commit yet'}</span>
            {rejected > 0 ? (
              <a class="meta-item meta-warn" href="/dead-letter" data-rejected={rejected}>
                {n(rejected)} rejected{' '}
                <span class="reject-scope">all time{run ? ` · ${n(run)} refused this run` : ''}</span>
              </a>
            ) : (
              <span class="meta-item">0 rejected</span>
            )}
            {failing.length > 0 && (
              <span class="pill pill-crit">
                <span class="pill-dot" />
                {failing.length} failing
              </span>
            )}
          </div>
        </header>
        {model.views.length > 0 && (
          <section class="views">
            {model.views.map((v) => (
              <a class="card view-link" href={v.path} key={v.path}>
                <span class="view-title">{v.title}</span>
                <span class="view-path">{v.path}</span>
              </a>
            ))}
          </section>
        )}
        <section class="card span-4 graph-card">
          <header class="card-head">
            <div class="card-titles">
              <h2 class="card-title">Steps</h2>
              <p class="card-desc">
                Laid out by the manifest's edges; dashed: data passed through a table, topic or files. Click a step for
                its settings, errors, records and dead letters.
              </p>
            </div>
          </header>
          <div class="graph-scroll">
            <div class="graph" style={{ width: `${model.layout.width}px`, height: `${model.layout.height}px` }}>
              <svg class="graph-edges" width={model.layout.width} height={model.layout.height} aria-hidden="true">
                <defs>
                  <marker
                    id="arrow"
                    viewBox="0 0 8 8"
                    refX="7"
                    refY="4"
                    markerWidth="7"
                    markerHeight="7"
                    orient="auto-start-reverse"
                  >
                    <path d="M0,0 L8,4 L0,8 z" />
                  </marker>
                </defs>
                {model.layout.edges.map((e, i) => (
                  <path key={i} class={`edge edge-${e.kind}`} d={edgePath(e.points)} marker-end="url(#arrow)" />
                ))}
              </svg>
              {model.layout.nodes.map((node) => {
                const step = byId.get(node.id);
                if (!step) return null;
                return (
                  <button
                    type="button"
                    key={node.id}
                    id={`step-${node.id}`}
                    class={`node node-${step.kind}${open === node.id ? ' node-open' : ''}`}
                    data-step={node.id}
                    style={{
                      left: `${node.x}px`,
                      top: `${node.y}px`,
                      width: `${NODE_SIZE.width}px`,
                      height: `${NODE_SIZE.height}px`,
                    }}
                    onClick={() => select(node.id)}
                    aria-haspopup="dialog"
                  >
                    <NodeBody step={step} now={now} />
                  </button>
                );
              })}
            </div>
          </div>
          <ol class="step-list">
            {ordered.map((step) => (
              <li key={step.id}>
                <button
                  type="button"
                  class={`node node-${step.kind}`}
                  data-step-item={step.id}
                  onClick={() => select(step.id)}
                >
                  <NodeBody step={step} now={now} />
                  {step.from.length > 0 && <span class="node-from">from {step.from.join(', ')}</span>}
                </button>
              </li>
            ))}
          </ol>
        </section>
      </div>
      {open && (
        <StepPanel
          id={open}
          step={byId.get(open)}
          details={details}
          failed={failed}
          now={now}
          onClose={() => {
            setOpen(null);
            history.replaceState(null, '', location.pathname + location.search);
          }}
        />
      )}
    </div>
  );
}

function StepPanel({
  id,
  step,
  details,
  failed,
  now,
  onClose,
}: {
  id: string;
  step?: LiveStep;
  details: StepDetails | null;
  failed: string | null;
  now: number;
  onClose: () => void;
}): JSX.Element {
  const columns = details?.sample.length ? [...new Set(details.sample.flatMap((r) => Object.keys(r)))] : [];
  return (
    <aside class="panel" role="dialog" aria-label={`Step ${id}`} data-panel={id}>
      <header class="panel-head">
        <div>
          <h2>{id}</h2>
          {step && (
            <p class="card-desc">
              {step.kind} · <code>{step.use}</code>
              {step.from.length ? ` · from ${step.from.join(', ')}` : ''}
              {step.location ? ` · ${step.location.file}:${step.location.line}` : ''}
            </p>
          )}
        </div>
        <button type="button" class="icon-btn" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </header>
      {failed && <div class="notice">Could not load the step: {failed}</div>}
      {!details && !failed && (
        <div class="skeleton-stack">
          <div class="skeleton sk-row" />
          <div class="skeleton sk-row" />
          <div class="skeleton sk-row" />
        </div>
      )}
      {details && (
        <div class="panel-body">
          <section>
            <h3>Counts</h3>
            <dl class="panel-stats">
              <div>
                <dt>In (this run / all time)</dt>
                <dd>
                  {n(details.step.recordsIn)} / {n(details.step.totals?.recordsIn)}
                </dd>
              </div>
              <div>
                <dt>Out (this run / all time)</dt>
                <dd>
                  {n(details.step.recordsOut)} / {n(details.step.totals?.recordsOut)}
                </dd>
              </div>
              <div>
                <dt>Refused this run / in dead-letter</dt>
                <dd>
                  {n(details.step.run.rejected)} / {n(details.step.rejected)}
                </dd>
              </div>
              <div>
                <dt>Rate</dt>
                <dd>{rate(details.step.throughput)}</dd>
              </div>
              {details.step.lag !== null && details.step.lag !== undefined && (
                <div>
                  <dt>Backlog</dt>
                  <dd>{n(details.step.lag)}</dd>
                </div>
              )}
              <div>
                <dt>Last commit</dt>
                <dd>
                  {details.step.lastCommitAt
                    ? `${formatTime(details.step.lastCommitAt)} (${timeAgo(details.step.lastCommitAt, now)})`
                    : '—'}
                </dd>
              </div>
              {details.step.totals && (
                <div>
                  <dt>Counting since</dt>
                  <dd>{formatTime(details.step.totals.since)}</dd>
                </div>
              )}
            </dl>
            {details.step.reads?.length || details.step.writes?.length ? (
              <p class="card-desc">
                {[
                  ...(details.step.reads ?? []).map((r) => `reads ${r}`),
                  ...(details.step.writes ?? []).map((w) => `writes ${w}`),
                ].join(' · ')}
              </p>
            ) : null}
          </section>
          <section>
            <h3>Settings{details.connection ? ` (connection ${details.connection})` : ''}</h3>
            <pre class="record">{JSON.stringify(details.config, null, 2)}</pre>
          </section>
          <section>
            <h3>Recent errors</h3>
            {details.errors.length === 0 ? (
              <p class="muted">None since the pipeline started.</p>
            ) : (
              <ul class="reasons">
                {details.errors.map((e, i) => (
                  <li key={i}>
                    <time dateTime={e.at}>{formatTime(e.at)}</time> {e.message}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section>
            <h3>Last records{details.sampledAt ? ` (${timeAgo(details.sampledAt, now)})` : ''}</h3>
            {details.sample.length === 0 ? (
              <p class="muted">No batch since the pipeline started.</p>
            ) : (
              <div class="table-wrap panel-table">
                <table class="data">
                  <thead>
                    <tr>
                      {columns.map((c) => (
                        <th key={c}>{c}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {details.sample.map((row, i) => (
                      <tr key={i}>
                        {columns.map((c) => (
                          <td key={c}>{formatValue(row[c])}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section>
            <h3>Dead letters ({n(details.deadLetters.total)})</h3>
            {details.deadLetters.entries.length === 0 ? (
              <p class="muted">Nothing rejected.</p>
            ) : (
              <ul class="reasons">
                {details.deadLetters.entries.map((e) => (
                  <li key={e.id}>
                    {e.reasons.join('; ')}
                    {e.origin ? (
                      <>
                        {' '}
                        · <code>{e.origin}</code>
                      </>
                    ) : null}
                  </li>
                ))}
              </ul>
            )}
            {details.deadLetters.total > 0 && <a href={deadLetterHref([id])}>All dead letters of {id}</a>}
          </section>
        </div>
      )}
    </aside>
  );
}

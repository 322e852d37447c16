// The card around every widget: title, the filters that do not change it, body states (loading, empty with the
// reason, error) and a pipeline footer with the same reject count as the page header.
import type { ComponentChildren, JSX } from 'preact';
import { formatTime, formatValue, shortTime, timeAgo } from '../format.ts';
import type { Freshness, WidgetModel, WidgetResult } from '../types.ts';
import {
  AlertIcon,
  BanIcon,
  ClockIcon,
  DownloadIcon,
  ErrorIcon,
  FilterIcon,
  FilterOffIcon,
  InboxIcon,
  StepIcon,
} from './icons.tsx';

export function deadLetterHref(steps: string[]): string {
  return `/dead-letter?steps=${steps.map(encodeURIComponent).join(',')}`;
}

export function stepHref(step: string): string {
  return `/pipeline#step-${encodeURIComponent(step)}`;
}

export interface EmptyReason {
  kind: 'rejected' | 'waiting' | 'filtered' | 'none';
  title: string;
  detail: string;
}

/** Why a widget has no rows: every record rejected upstream, nothing committed yet, filtered out, or just none. */
export function emptyReason(result: WidgetResult, timeFiltered = false): EmptyReason {
  const f = result.meta.freshness;
  if (f.rejected > 0 && (f.delivered ?? 0) === 0) {
    return {
      kind: 'rejected',
      title: 'Every record was rejected upstream',
      detail: `${formatValue(f.rejected, { format: 'integer' })} records were sent to dead letters and none reached ${f.producer ?? 'this view'}.`,
    };
  }
  if (!f.lastCommitAt && (f.delivered ?? 0) === 0) {
    return {
      kind: 'waiting',
      title: 'No data yet',
      detail: f.producer ? `Waiting for the first commit of ${f.producer}.` : 'Waiting for the pipeline to write data.',
    };
  }
  if (result.meta.filtered)
    return {
      kind: 'filtered',
      title: 'No rows match the filters',
      detail: timeFiltered ? 'Try a wider time range or clear a filter.' : 'Clear a filter to see rows.',
    };
  return { kind: 'none', title: 'No rows', detail: 'The query returned no rows.' };
}

export function EmptyState({ result, timeFiltered }: { result: WidgetResult; timeFiltered?: boolean }): JSX.Element {
  const reason = emptyReason(result, timeFiltered);
  const icon = reason.kind === 'rejected' ? <BanIcon /> : reason.kind === 'filtered' ? <FilterIcon /> : <InboxIcon />;
  return (
    <div class={`state state-empty state-${reason.kind}`} data-empty={reason.kind}>
      {icon}
      <strong>{reason.title}</strong>
      <span>{reason.detail}</span>
      {reason.kind === 'rejected' && <a href={deadLetterHref(result.meta.freshness.steps)}>See the rejected records</a>}
    </div>
  );
}

export function ErrorState({ message }: { message: string }): JSX.Element {
  return (
    <div class="state state-error" role="alert" data-error>
      <ErrorIcon />
      <strong>This card could not be loaded</strong>
      <code>{message}</code>
    </div>
  );
}

export function Skeleton({ kind }: { kind: 'kpi' | 'chart' | 'table' }): JSX.Element {
  if (kind === 'kpi')
    return (
      <div class="skeleton-stack">
        <div class="skeleton sk-value" />
        <div class="skeleton sk-line" />
      </div>
    );
  if (kind === 'table')
    return (
      <div class="skeleton-stack">
        {[0, 1, 2, 3, 4].map((i) => (
          <div key={i} class="skeleton sk-row" />
        ))}
      </div>
    );
  return <div class="skeleton sk-chart" />;
}

function producersText(f: Freshness): string | null {
  const producers = f.producers?.length ? f.producers : f.producer ? [f.producer] : [];
  if (!producers.length) return null;
  return producers.length > 2 ? `${producers.slice(0, 2).join(', ')} +${producers.length - 2}` : producers.join(', ');
}

/** The same reject counts as the page header: all time (in the dead-letter store), and the refusals of this run. */
function rejectTitle(f: Freshness): string {
  return `${formatValue(f.rejected, { format: 'integer' })} records rejected upstream, all time; ${formatValue(f.rejectedRun ?? 0, { format: 'integer' })} since the pipeline started (${f.steps.length} steps traced)`;
}

export function Footer({
  freshness,
  now,
  csv,
  compact,
  timeZone = 'UTC',
}: {
  freshness: Freshness;
  now: number;
  csv?: string;
  compact?: boolean;
  timeZone?: string;
}): JSX.Element {
  const f = freshness;
  const producers = producersText(f);
  const run = f.rejectedRun ?? 0;
  if (compact) {
    return (
      <footer class="card-foot">
        <span
          class="foot-item"
          title={
            f.lastCommitAt
              ? `Last commit ${formatTime(f.lastCommitAt, { timeZone })}${f.watermark ? ` · data until ${formatTime(f.watermark, { timeZone })}` : ''}`
              : 'No commit yet'
          }
        >
          <ClockIcon /> {f.lastCommitAt ? timeAgo(f.lastCommitAt, now) : 'never'}
        </span>
        {f.rejected > 0 && (
          <a
            class="foot-item foot-rejected"
            href={deadLetterHref(f.steps)}
            title={rejectTitle(f)}
            data-rejected={f.rejected}
          >
            <AlertIcon /> {formatValue(f.rejected, { format: 'integer' })}
          </a>
        )}
        <span class="foot-spacer" />
        {producers && (
          <a
            class="foot-item foot-producer"
            href={stepHref(f.producers?.[0] ?? f.producer!)}
            title={`Written by ${(f.producers ?? [f.producer]).join(', ')}`}
          >
            <StepIcon /> {producers}
          </a>
        )}
      </footer>
    );
  }
  return (
    <footer class="card-foot">
      <span
        class="foot-item"
        title={f.lastCommitAt ? `Last commit ${formatTime(f.lastCommitAt, { timeZone })}` : 'No commit yet'}
      >
        <ClockIcon /> {f.lastCommitAt ? `Updated ${timeAgo(f.lastCommitAt, now)}` : 'Never updated'}
      </span>
      {f.watermark && (
        <span class="foot-item" title={`Newest event time seen upstream: ${formatTime(f.watermark, { timeZone })}`}>
          Data until {shortTime(f.watermark, timeZone, now)}
        </span>
      )}
      {f.rejected > 0 ? (
        <a
          class="foot-item foot-rejected"
          href={deadLetterHref(f.steps)}
          title={rejectTitle(f)}
          data-rejected={f.rejected}
        >
          <AlertIcon /> {formatValue(f.rejected, { format: 'integer' })} rejected
          {run ? ` (${formatValue(run, { format: 'integer' })} refused this run)` : ''}
        </a>
      ) : (
        <span class="foot-item foot-muted" data-rejected="0">
          0 rejected
        </span>
      )}
      <span class="foot-spacer" />
      {producers && (
        <a
          class="foot-item foot-producer"
          href={stepHref(f.producers?.[0] ?? f.producer!)}
          title={`Written by ${(f.producers ?? [f.producer]).join(', ')}`}
        >
          <StepIcon /> {producers}
        </a>
      )}
      {csv && (
        <a class="foot-item" href={csv} download title="Download as CSV">
          <DownloadIcon /> CSV
        </a>
      )}
    </footer>
  );
}

export interface CardProps {
  widget: WidgetModel;
  loading: boolean;
  children: ComponentChildren;
  footer?: ComponentChildren;
  actions?: ComponentChildren;
  class?: string;
  /** The page has filters: say which of them do not change this card. */
  filtersOnPage?: boolean;
}

// The type's class is widget-<type>: card-<part> names the card's own parts (card-body, card-progress…), which a
// widget type's name must not turn into.
export function Card({
  widget,
  loading,
  children,
  footer,
  actions,
  class: extra,
  filtersOnPage,
}: CardProps): JSX.Element {
  const ignores = filtersOnPage ? (widget.ignores ?? []) : [];
  return (
    <section
      class={`card widget-${widget.type} span-${widget.width}${extra ? ` ${extra}` : ''}`}
      id={`widget-${widget.id}`}
      data-widget={widget.id}
      aria-busy={loading ? 'true' : 'false'}
    >
      <div class="card-progress" />
      <header class="card-head">
        <div class="card-titles">
          <h2 class="card-title">{widget.title}</h2>
          {widget.description && <p class="card-desc">{widget.description}</p>}
          {ignores.length > 0 && (
            <p
              class="card-unfiltered"
              data-ignores={ignores.join('|')}
              title={`These filters do not change this card: ${ignores.join(', ')}`}
            >
              <FilterOffIcon /> Not filtered by {ignores.join(', ')}
            </p>
          )}
        </div>
        {actions && <div class="card-actions">{actions}</div>}
      </header>
      <div class="card-body">{children}</div>
      {footer}
    </section>
  );
}

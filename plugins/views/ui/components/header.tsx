// The top bar (with a menu on phones) and the page header: title, freshness with the live state, one reject count
// (all time, and this run), refresh and theme buttons.
import type { ComponentChildren, JSX } from 'preact';
import { formatTime, formatValue, timeAgo } from '../format.ts';
import type { Freshness } from '../types.ts';
import { deadLetterHref } from './card.tsx';
import { MenuIcon, MoonIcon, RefreshIcon, SunIcon } from './icons.tsx';

export type LiveState = 'connecting' | 'live' | 'polling';

const LINKS = [
  { href: '/pipeline', label: 'Pipeline' },
  { href: '/dead-letter', label: 'Dead letters' },
];

/**
 * The bar on every page. At 640 px and below the links move into a menu (a <details>, so it works on pages
 * without the app script too; theme.js closes it on Escape and outside clicks).
 */
export function TopBar({ pipeline, children }: { pipeline: string; children?: ComponentChildren }): JSX.Element {
  return (
    <div class="topbar">
      <a class="brand" href="/pipeline">
        <span class="brand-mark" aria-hidden="true" />
        <span class="brand-name">{pipeline}</span>
      </a>
      <nav class="topnav" aria-label="Pages">
        {LINKS.map((l) => (
          <a key={l.href} href={l.href}>
            {l.label}
          </a>
        ))}
      </nav>
      <span class="topbar-spacer" />
      {children}
      <ThemeToggle />
      <details class="menu" data-menu>
        <summary class="icon-btn menu-button" aria-label="Menu" title="Menu">
          <MenuIcon />
        </summary>
        <nav class="menu-panel" aria-label="Pages">
          {LINKS.map((l) => (
            <a key={l.href} href={l.href}>
              {l.label}
            </a>
          ))}
        </nav>
      </details>
    </div>
  );
}

export function ThemeToggle(): JSX.Element {
  // theme.js handles clicks on [data-theme-toggle] (also on pages without the app bundle).
  return (
    <button
      type="button"
      class="icon-btn theme-toggle"
      data-theme-toggle
      aria-label="Toggle dark mode"
      title="Toggle dark mode"
    >
      <span class="when-light">
        <MoonIcon />
      </span>
      <span class="when-dark">
        <SunIcon />
      </span>
    </button>
  );
}

/**
 * "104 rejected" (all time: what the dead-letter store holds, each record once) with "3 refused this run" when steps
 * refused records since the pipeline started (a record read again and refused again counts there each time).
 */
export function RejectCount({ freshness, suffix = '' }: { freshness: Freshness; suffix?: string }): JSX.Element {
  const all = freshness.rejected;
  const run = freshness.rejectedRun ?? 0;
  const text = `${formatValue(all, { format: 'integer' })} rejected${suffix}`;
  const title = `${formatValue(all, { format: 'integer' })} records rejected upstream of this data, all time (in the dead-letter store, each once); ${formatValue(run, { format: 'integer' })} refusals since the pipeline started (a record read again counts again)`;
  if (all === 0)
    return (
      <span class="meta-item foot-muted" data-rejected="0" title={title}>
        0 rejected
      </span>
    );
  return (
    <a
      class="meta-item meta-warn"
      href={deadLetterHref(freshness.steps)}
      data-rejected={all}
      data-rejected-run={run}
      title={title}
    >
      {text}{' '}
      <span class="reject-scope">
        all time{run ? ` · ${formatValue(run, { format: 'integer' })} refused this run` : ''}
      </span>
    </a>
  );
}

export interface HeaderProps {
  title: string;
  description?: string;
  freshness: Freshness;
  live: LiveState;
  now: number;
  busy: boolean;
  timeZone: string;
  onRefresh?: () => void;
}

export function PageHeader({
  title,
  description,
  freshness,
  live,
  now,
  busy,
  timeZone,
  onRefresh,
}: HeaderProps): JSX.Element {
  const liveLabel = live === 'live' ? 'Live' : live === 'polling' ? 'Polling' : 'Connecting';
  return (
    <header class="page-header">
      <div class="page-titles">
        <h1>{title}</h1>
        {description && <p class="page-desc">{description}</p>}
      </div>
      <div class="page-meta">
        <span
          class={`live live-${live}`}
          data-live={live}
          title={
            live === 'live'
              ? 'Updates arrive as the pipeline commits'
              : live === 'polling'
                ? 'Live updates unavailable; refreshing periodically'
                : 'Connecting to live updates'
          }
        >
          <span class="live-dot" />
          {liveLabel}
        </span>
        <span
          class="meta-item"
          title={freshness.lastCommitAt ? formatTime(freshness.lastCommitAt, { timeZone }) : undefined}
          data-freshness={freshness.lastCommitAt ?? ''}
        >
          {freshness.lastCommitAt ? `Data updated ${timeAgo(freshness.lastCommitAt, now)}` : 'No data committed yet'}
        </span>
        <RejectCount freshness={freshness} />
        {onRefresh && (
          <button
            type="button"
            class={`btn${busy ? ' btn-busy' : ''}`}
            onClick={onRefresh}
            aria-label="Refresh"
            data-refresh
          >
            <RefreshIcon /> <span class="btn-text">Refresh</span>
          </button>
        )}
      </div>
    </header>
  );
}

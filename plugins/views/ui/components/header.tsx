// The page header: title, pipeline freshness with the live state, refresh and theme buttons.
import type { ComponentChildren, JSX } from 'preact';
import { formatTime, timeAgo } from '../format.ts';
import type { Freshness } from '../types.ts';
import { deadLetterHref } from './card.tsx';
import { MoonIcon, RefreshIcon, SunIcon } from './icons.tsx';

export type LiveState = 'connecting' | 'live' | 'polling';

export function TopBar({ pipeline, children }: { pipeline: string; children?: ComponentChildren }): JSX.Element {
  return (
    <div class="topbar">
      <a class="brand" href="/?overview=1">
        <span class="brand-mark" aria-hidden="true" />
        <span class="brand-name">{pipeline}</span>
      </a>
      <nav class="topnav">
        <a href="/?overview=1">Pipeline</a>
        <a href="/dead-letter">Dead letters</a>
      </nav>
      <span class="topbar-spacer" />
      {children}
      <ThemeToggle />
    </div>
  );
}

export function ThemeToggle(): JSX.Element {
  // theme.js handles clicks on [data-theme-toggle] (also on pages without the app bundle).
  return (
    <button type="button" class="icon-btn theme-toggle" data-theme-toggle aria-label="Toggle dark mode" title="Toggle dark mode">
      <span class="when-light"><MoonIcon /></span>
      <span class="when-dark"><SunIcon /></span>
    </button>
  );
}

export interface HeaderProps {
  title: string;
  description?: string;
  freshness: Freshness;
  live: LiveState;
  now: number;
  busy: boolean;
  onRefresh?: () => void;
}

export function PageHeader({ title, description, freshness, live, now, busy, onRefresh }: HeaderProps): JSX.Element {
  const liveLabel = live === 'live' ? 'Live' : live === 'polling' ? 'Polling' : 'Connecting';
  return (
    <header class="page-header">
      <div class="page-titles">
        <h1>{title}</h1>
        {description && <p class="page-desc">{description}</p>}
      </div>
      <div class="page-meta">
        <span class={`live live-${live}`} data-live={live} title={live === 'live' ? 'Updates arrive as the pipeline commits' : live === 'polling' ? 'Live updates unavailable; refreshing periodically' : 'Connecting to live updates'}>
          <span class="live-dot" />{liveLabel}
        </span>
        <span class="meta-item" title={freshness.lastCommitAt ? formatTime(freshness.lastCommitAt) : undefined} data-freshness={freshness.lastCommitAt ?? ''}>
          {freshness.lastCommitAt ? `Data updated ${timeAgo(freshness.lastCommitAt, now)}` : 'No data committed yet'}
        </span>
        {freshness.rejected > 0 && <a class="meta-item meta-warn" href={deadLetterHref(freshness.steps)}>{freshness.rejected.toLocaleString('en-US')} rejected upstream</a>}
        {onRefresh && (
          <button type="button" class={`btn${busy ? ' btn-busy' : ''}`} onClick={onRefresh} aria-label="Refresh" data-refresh>
            <RefreshIcon /> Refresh
          </button>
        )}
      </div>
    </header>
  );
}

// The dashboard page: rendered on the server for the first paint, hydrated in the browser for filters and live data.
import type { JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { fetchOptions, fetchWidget, pageParams, widgetUrl } from './api.ts';
import { AlertBody, TextBody } from './components/alert.tsx';
import { Card, EmptyState, ErrorState, Footer, Skeleton } from './components/card.tsx';
import { ChartBody } from './components/chart.tsx';
import { FilterBar } from './components/filters.tsx';
import { PageHeader, TopBar, type LiveState } from './components/header.tsx';
import { KpiBody } from './components/kpi.tsx';
import { TableBody } from './components/table.tsx';
import { UploadBody } from './components/upload.tsx';
import type { FilterModel, PageModel, WidgetModel, WidgetResult } from './types.ts';

export type Theme = 'light' | 'dark';

/** The theme set by theme.js on <html data-theme>, following its changes. */
function useTheme(): Theme {
  const [theme, setTheme] = useState<Theme>('light');
  useEffect(() => {
    const read = () => setTheme(document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light');
    read();
    window.addEventListener('platform-theme', read);
    return () => window.removeEventListener('platform-theme', read);
  }, []);
  return theme;
}

const CHARTS = new Set(['line', 'area', 'bar', 'pie']);

export function Dashboard({ model }: { model: PageModel }): JSX.Element {
  const [filters, setFilters] = useState<FilterModel[]>(model.filters);
  const [results, setResults] = useState<Record<string, WidgetResult>>(model.results);
  const [loading, setLoading] = useState<Record<string, boolean>>({});
  const [live, setLive] = useState<LiveState>('connecting');
  const [freshness, setFreshness] = useState(model.freshness);
  const [now, setNow] = useState(() => Date.now());
  const theme = useTheme();
  const current = useRef(filters);
  current.current = filters;
  const inflight = useRef(new Map<string, AbortController>());

  const refresh = useCallback(async (ids: string[]) => {
    const widgets = model.widgets.filter((w) => ids.includes(w.id) && w.type !== 'text' && w.type !== 'upload');
    if (widgets.length === 0) return;
    setLoading((l) => ({ ...l, ...Object.fromEntries(widgets.map((w) => [w.id, true])) }));
    await Promise.all(widgets.map(async (w) => {
      inflight.current.get(w.id)?.abort();
      const controller = new AbortController();
      inflight.current.set(w.id, controller);
      try {
        const result = await fetchWidget(model, w.id, current.current, controller.signal);
        setResults((r) => ({ ...r, [w.id]: result }));
        const f = result.meta.freshness;
        setFreshness((old) => (f.lastCommitAt && (!old.lastCommitAt || f.lastCommitAt > old.lastCommitAt) ? { ...old, lastCommitAt: f.lastCommitAt, rejected: Math.max(old.rejected, f.rejected) } : old));
      } catch {
        return; // aborted by a newer request
      } finally {
        if (inflight.current.get(w.id) === controller) {
          inflight.current.delete(w.id);
          setLoading((l) => ({ ...l, [w.id]: false }));
        }
      }
    }));
  }, [model]);

  const refreshAll = useCallback(() => refresh(model.widgets.map((w) => w.id)), [model, refresh]);

  const onFilterChange = useCallback(async (id: string, value: string | string[] | null) => {
    let next = current.current.map((f) => (f.id === id ? { ...f, value } : f));
    setFilters(next);
    current.current = next;
    // Cascade: refetch the options of filters depending on a changed one; drop values no longer offered.
    const changed = new Set([id]);
    const done = new Set<string>();
    for (let pass = 0; pass < next.length; pass++) {
      for (const f of next) {
        if (done.has(f.id) || !f.dynamic || !f.dependsOn.some((d) => changed.has(d))) continue;
        done.add(f.id);
        const options = await fetchOptions(model, f.id, next).catch(() => f.options);
        const offered = new Set(options.map((o) => o.value));
        const kept = Array.isArray(f.value) ? f.value.filter((v) => offered.has(v)) : f.value !== null && !offered.has(f.value) ? null : f.value;
        if (JSON.stringify(kept) !== JSON.stringify(f.value)) changed.add(f.id);
        next = next.map((g) => (g.id === f.id ? { ...g, options, value: kept } : g));
      }
    }
    setFilters(next);
    current.current = next;
    const query = pageParams(next).toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    await refresh(model.widgets.filter((w) => w.filters.some((f) => changed.has(f))).map((w) => w.id));
  }, [model, refresh]);

  // Live updates: refetch the widgets fed by a step that committed; poll every `refresh` while disconnected.
  useEffect(() => {
    let state: LiveState = 'connecting';
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      const steps = [...pending];
      pending.clear();
      void refresh(model.widgets.filter((w) => w.steps.some((s) => steps.includes(s))).map((w) => w.id));
    };
    const source = typeof EventSource === 'undefined' ? null : new EventSource(`${model.paths.api}/events`);
    const setState = (s: LiveState) => setLive((state = s));
    source?.addEventListener('open', () => setState('live'));
    source?.addEventListener('error', () => setState('polling'));
    source?.addEventListener('commit', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { step: string; at: string };
      pending.add(data.step);
      setFreshness((f) => (!f.lastCommitAt || data.at > f.lastCommitAt ? { ...f, lastCommitAt: data.at } : f));
      clearTimeout(timer);
      timer = setTimeout(flush, 250);
    });
    if (!source) setState('polling');
    const poll = setInterval(() => state !== 'live' && void refreshAll(), Math.max(model.refreshMs, 1000));
    const tick = setInterval(() => setNow(Date.now()), 15_000);
    return () => {
      source?.close();
      clearInterval(poll);
      clearInterval(tick);
      clearTimeout(timer);
    };
  }, [model, refresh, refreshAll]);

  const busy = Object.values(loading).some(Boolean);
  return (
    <div class="app">
      <TopBar pipeline={model.pipeline} />
      <div class="container">
        <PageHeader title={model.title} description={model.description} freshness={freshness} live={live} now={now} busy={busy} onRefresh={() => void refreshAll()} />
        <FilterBar filters={filters} onChange={(id, value) => void onFilterChange(id, value)} />
        {model.notices.length > 0 && <div class="notice" role="status">{model.notices.map((n, i) => <div key={i}>{n}</div>)}</div>}
        {model.widgets.length === 0 ? (
          <div class="state state-empty page-empty"><strong>Nothing to show yet</strong><span>{model.empty ?? 'This view has no widgets.'}</span></div>
        ) : (
          <main class="grid">
            {model.widgets.map((w) => (
              <WidgetCard key={w.id} widget={w} result={results[w.id]} loading={Boolean(loading[w.id])} model={model} filters={filters} theme={theme} now={now} />
            ))}
          </main>
        )}
      </div>
    </div>
  );
}

interface WidgetCardProps {
  widget: WidgetModel;
  result: WidgetResult | undefined;
  loading: boolean;
  model: PageModel;
  filters: FilterModel[];
  theme: Theme;
  now: number;
}

function WidgetCard({ widget, result, loading, model, filters, theme, now }: WidgetCardProps): JSX.Element {
  const locale = model.locale;
  const footer = result && widget.type !== 'text' && <Footer freshness={result.meta.freshness} now={now} compact={widget.width === 1} csv={CHARTS.has(widget.type) || widget.type === 'table' ? widgetUrl(model, widget.id, filters, 'csv') : undefined} />;
  let body: JSX.Element;
  if (widget.type === 'text') body = <TextBody text={widget.text ?? ''} />;
  else if (widget.type === 'upload') body = <UploadBody widget={widget} model={model} locale={locale} />;
  else if (!result) body = <Skeleton kind={widget.type === 'kpi' ? 'kpi' : widget.type === 'table' ? 'table' : 'chart'} />;
  else if (widget.type === 'alert') body = <AlertBody widget={widget} result={result} locale={locale} />;
  else if (result.error) body = <ErrorState message={result.error} />;
  else if (result.data.length === 0) body = <EmptyState result={result} />;
  else if (widget.type === 'kpi') body = <KpiBody widget={widget} result={result} locale={locale} />;
  else if (widget.type === 'table') body = <TableBody widget={widget} result={result} locale={locale} />;
  else body = <ChartBody widget={widget} result={result} theme={theme} locale={locale} />;
  return <Card widget={widget} loading={loading} footer={footer}>{body}</Card>;
}

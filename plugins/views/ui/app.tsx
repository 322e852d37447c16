// The dashboard page: rendered on the server for the first paint, hydrated in the browser for filters and live data.
import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fetchOptions, fetchWidget, isAbort, pageParams, widgetUrl, type TableQuery } from './api.ts';
import { Card, EmptyState, ErrorState, Footer, Skeleton } from './components/card.tsx';
import { FilterBar } from './components/filters.tsx';
import { PageHeader, TopBar, type LiveState } from './components/header.tsx';
import type { FieldContext } from './format.ts';
import type { FilterModel, Freshness, PageModel, WidgetModel, WidgetResult } from './types.ts';
import { widgetType } from './widgets/index.ts';

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

const FIRST_TABLE_PAGE: TableQuery = { offset: 0, sort: null, order: 'asc', q: '' };

export function Dashboard({ model }: { model: PageModel }): JSX.Element {
  const [filters, setFilters] = useState<FilterModel[]>(model.filters);
  const [results, setResults] = useState<Record<string, WidgetResult>>(model.results);
  const [tables, setTables] = useState<Record<string, TableQuery>>({});
  const [loading, setLoading] = useState<Record<string, boolean>>({});
  const [live, setLive] = useState<LiveState>('connecting');
  const [freshness, setFreshness] = useState(model.freshness);
  const [now, setNow] = useState(() => Date.now());
  const theme = useTheme();
  const current = useRef(filters);
  current.current = filters;
  const tableState = useRef(tables);
  tableState.current = tables;
  const inflight = useRef(new Map<string, AbortController>());
  const context: FieldContext = useMemo(
    () => ({ locale: model.locale, timeZone: model.timeZone, currency: model.currency }),
    [model],
  );

  /**
   * Refetches widgets with the filters (and table pages) as they are now. A newer request for a widget aborts the
   * older one, and an aborted answer is dropped: a card only ever shows the answer to its latest request.
   */
  const refresh = useCallback(
    async (ids: string[]) => {
      const widgets = model.widgets.filter((w) => ids.includes(w.id) && widgetType(w.type).query);
      if (widgets.length === 0) return;
      setLoading((l) => ({ ...l, ...Object.fromEntries(widgets.map((w) => [w.id, true])) }));
      await Promise.all(
        widgets.map(async (w) => {
          inflight.current.get(w.id)?.abort();
          const controller = new AbortController();
          inflight.current.set(w.id, controller);
          try {
            const kind = widgetType(w.type);
            const table = kind.query && kind.paged ? (tableState.current[w.id] ?? FIRST_TABLE_PAGE) : undefined;
            const result = await fetchWidget(
              model,
              w.id,
              current.current,
              controller.signal,
              table,
              table ? w.pageSize : undefined,
            );
            if (controller.signal.aborted) return;
            setResults((r) => ({ ...r, [w.id]: result }));
          } catch (error) {
            if (!isAbort(error)) throw error;
          } finally {
            if (inflight.current.get(w.id) === controller) {
              inflight.current.delete(w.id);
              setLoading((l) => ({ ...l, [w.id]: false }));
            }
          }
        }),
      );
    },
    [model],
  );

  const refreshAll = useCallback(() => refresh(model.widgets.map((w) => w.id)), [model, refresh]);

  const onFilterChange = useCallback(
    async (id: string, value: string | string[] | null) => {
      let next = current.current.map((f) => (f.id === id ? { ...f, value } : f));
      setFilters(next);
      current.current = next;
      // Cascade: refetch the options of filters depending on a changed one; drop values no longer offered.
      const changed = new Set([id]);
      const done = new Set<string>();
      const cascaded = new Map<string, Pick<FilterModel, 'options' | 'value'>>();
      for (let pass = 0; pass < next.length; pass++) {
        for (const f of next) {
          if (done.has(f.id) || !f.dynamic || !f.dependsOn.some((d) => changed.has(d))) continue;
          done.add(f.id);
          const options = await fetchOptions(model, f.id, next).catch(() => f.options);
          const offered = new Set(options.map((o) => o.value));
          const kept = Array.isArray(f.value)
            ? f.value.filter((v) => offered.has(v))
            : f.value !== null && !offered.has(f.value)
              ? null
              : f.value;
          if (JSON.stringify(kept) !== JSON.stringify(f.value)) changed.add(f.id);
          cascaded.set(f.id, { options, value: kept });
          next = next.map((g) => (g.id === f.id ? { ...g, options, value: kept } : g));
        }
      }
      // A newer change of the same filter superseded this one while the options were fetched: it refreshes the widgets.
      if (current.current.find((f) => f.id === id)?.value !== value) return;
      // Other filters may have changed meanwhile: apply the cascade to the filters as they are now.
      next = current.current.map((f) => (cascaded.has(f.id) ? { ...f, ...cascaded.get(f.id) } : f));
      setFilters(next);
      current.current = next;
      const query = pageParams(next).toString();
      history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
      const affected = model.widgets.filter((w) => w.filters.some((f) => changed.has(f)));
      // A filter change starts every table of those widgets at its first page again.
      setTables((t) =>
        Object.fromEntries(
          Object.entries(t).map(([k, v]) => [k, affected.some((w) => w.id === k) ? { ...v, offset: 0 } : v]),
        ),
      );
      tableState.current = Object.fromEntries(
        Object.entries(tableState.current).map(([k, v]) => [
          k,
          affected.some((w) => w.id === k) ? { ...v, offset: 0 } : v,
        ]),
      );
      await refresh(affected.map((w) => w.id));
    },
    [model, refresh],
  );

  const onTableChange = useCallback(
    (id: string, table: TableQuery) => {
      tableState.current = { ...tableState.current, [id]: table };
      setTables(tableState.current);
      void refresh([id]);
    },
    [refresh],
  );

  // Live updates: refetch only the widgets whose producers committed (a table only its visible page); poll every
  // `refresh` while disconnected.
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
      const data = JSON.parse((event as MessageEvent<string>).data) as {
        step: string;
        at: string;
        freshness?: Freshness;
      };
      pending.add(data.step);
      if (data.freshness) setFreshness(data.freshness);
      // Commits within 250 ms make one refresh; a steady stream of them still refreshes every 250 ms.
      timer ??= setTimeout(() => {
        timer = undefined;
        flush();
      }, 250);
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
  const timeFilters = new Set(
    model.filters.filter((f) => f.type === 'timeRange' || f.type === 'dateRange').map((f) => f.id),
  );
  return (
    <div class="app">
      <TopBar pipeline={model.pipeline} />
      <div class="container">
        <PageHeader
          title={model.title}
          description={model.description}
          freshness={freshness}
          live={live}
          now={now}
          busy={busy}
          timeZone={model.timeZone}
          onRefresh={() => void refreshAll()}
        />
        <FilterBar filters={filters} onChange={(id, value) => void onFilterChange(id, value)} />
        {model.notices.length > 0 && (
          <div class="notice" role="status">
            {model.notices.map((n, i) => (
              <div key={i}>{n}</div>
            ))}
          </div>
        )}
        {model.widgets.length === 0 ? (
          <div class="state state-empty page-empty">
            <strong>Nothing to show yet</strong>
            <span>{model.empty ?? 'This view has no widgets.'}</span>
          </div>
        ) : (
          <main class="grid">
            {model.widgets.map((w) => (
              <WidgetCard
                key={w.id}
                widget={w}
                result={results[w.id]}
                loading={Boolean(loading[w.id])}
                model={model}
                filters={filters}
                theme={theme}
                now={now}
                context={context}
                table={tables[w.id] ?? FIRST_TABLE_PAGE}
                onTable={onTableChange}
                timeFiltered={w.filters.some((f) => timeFilters.has(f))}
              />
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
  context: FieldContext;
  table: TableQuery;
  onTable: (id: string, table: TableQuery) => void;
  /** A time filter changes this widget (the empty state then suggests a wider range). */
  timeFiltered: boolean;
}

function WidgetCard({
  widget,
  result,
  loading,
  model,
  filters,
  theme,
  now,
  context,
  table,
  onTable,
  timeFiltered,
}: WidgetCardProps): JSX.Element {
  // Everything that differs between widget types comes from the type's contribution (widgets/<type>/).
  const kind = widgetType(widget.type);
  const paged = kind.query && kind.paged;
  const csv =
    kind.query && kind.csv ? widgetUrl(model, widget.id, filters, 'csv', paged ? table : undefined) : undefined;
  const footer = result && (kind.query || kind.footer) && (
    <Footer
      freshness={result.meta.freshness}
      now={now}
      compact={widget.width === 1}
      csv={csv}
      timeZone={model.timeZone}
    />
  );
  const props = { widget, model, context, theme, now };
  let body: JSX.Element;
  if (!kind.query) body = <kind.Body {...props} />;
  else if (!result) body = <Skeleton kind={kind.skeleton} />;
  else if (result.error && !kind.shows?.error) body = <ErrorState message={result.error} />;
  else if (result.data.length === 0 && !kind.shows?.empty)
    body = <EmptyState result={result} timeFiltered={timeFiltered} />;
  else
    body = (
      <kind.Body
        {...props}
        result={result}
        loading={loading}
        timeFiltered={timeFiltered}
        table={table}
        onTable={(next) => onTable(widget.id, next)}
      />
    );
  return (
    <Card widget={widget} loading={loading} footer={footer} filtersOnPage={model.filters.length > 0}>
      {body}
    </Card>
  );
}

// Dashboard entry (bundled by scripts/build-client.mjs): hydrates the server-rendered dashboard. The time-series
// drawing code is a separate chunk, fetched only when the page draws a time chart.
import { hydrate } from 'preact';
import { Dashboard } from './app.tsx';
import { ChartContext, type ChartHost } from './components/chart.tsx';
import type { TimeChart } from './chart-options.ts';
import type { PageModel } from './types.ts';

const host: ChartHost = { load: () => import('./components/timeseries.ts') };

// For tests and debugging: what a time chart draws (its series, points and axes), read from its element.
(window as unknown as { platformCharts: unknown }).platformCharts = {
  data: (element: Element) => (element as Element & { chartData?: TimeChart }).chartData ?? null,
};

const data = document.getElementById('view-model');
const root = document.getElementById('app');
if (data && root) {
  const model = JSON.parse(data.textContent ?? '{}') as PageModel;
  hydrate(
    <ChartContext.Provider value={host}>
      <Dashboard model={model} />
    </ChartContext.Provider>,
    root,
  );
}

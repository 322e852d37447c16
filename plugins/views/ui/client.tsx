// Browser entry (bundled by scripts/build-client.mjs): hydrates the server-rendered dashboard and draws charts.
import './styles.css';
import { hydrate } from 'preact';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { Dashboard } from './app.tsx';
import { ChartContext, type ChartHost } from './components/chart.tsx';
import type { PageModel } from './types.ts';

echarts.use([LineChart, BarChart, PieChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

const host: ChartHost = {
  mount(element, option) {
    const chart = echarts.init(element, undefined, { renderer: 'canvas' });
    chart.setOption(option);
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(element);
    return {
      update: (next) => chart.setOption(next, { notMerge: true }),
      dispose: () => {
        resize.disconnect();
        chart.dispose();
      },
    };
  },
};

// For tests and debugging: the ECharts instance drawn in an element.
(window as unknown as { platformCharts: unknown }).platformCharts = { instance: (element: HTMLElement) => echarts.getInstanceByDom(element) };

const data = document.getElementById('view-model');
const root = document.getElementById('app');
if (data && root) {
  const model = JSON.parse(data.textContent ?? '{}') as PageModel;
  hydrate(<ChartContext.Provider value={host}><Dashboard model={model} /></ChartContext.Provider>, root);
}

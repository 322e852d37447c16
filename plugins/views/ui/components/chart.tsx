// A chart card body. ECharts lives only in the browser: the server renders a placeholder of the same size.
import { createContext, type JSX } from 'preact';
import { useContext, useEffect, useMemo, useRef } from 'preact/hooks';
import { chartOption, DARK, LIGHT } from '../chart-options.ts';
import type { WidgetModel, WidgetResult } from '../types.ts';

export interface ChartHandle {
  update(option: Record<string, unknown>): void;
  dispose(): void;
}

/** Provided by the browser entry; absent on the server. */
export interface ChartHost {
  mount(element: HTMLElement, option: Record<string, unknown>): ChartHandle;
}

export const ChartContext = createContext<ChartHost | null>(null);

export function ChartBody({ widget, result, theme, locale }: { widget: WidgetModel; result: WidgetResult; theme: 'light' | 'dark'; locale: string }): JSX.Element {
  const host = useContext(ChartContext);
  const element = useRef<HTMLDivElement>(null);
  const handle = useRef<ChartHandle | null>(null);
  const option = useMemo(() => chartOption(widget, result, theme === 'dark' ? DARK : LIGHT, locale), [widget, result, theme, locale]);
  useEffect(() => {
    if (!host || !element.current) return;
    handle.current = host.mount(element.current, option);
    return () => {
      handle.current?.dispose();
      handle.current = null;
    };
  }, [host]);
  useEffect(() => handle.current?.update(option), [option]);
  const height = widget.height ?? 280;
  return (
    <div class="chart" style={{ height: `${height}px` }} data-rows={result.data.length}>
      <div class="chart-canvas" ref={element} data-chart={widget.id} />
      {!host && <div class="skeleton sk-chart chart-placeholder" />}
    </div>
  );
}

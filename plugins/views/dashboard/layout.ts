// Turns the dashboard config (or a generated one) into validated filters and widgets; errors name the widget.
import { templateParams } from '../shared/sql.ts';
import type { FilterConfig, WidgetConfig } from './config.ts';
import { RESERVED_WIDGET_IDS, uploadTargets } from './config.ts';
import type { Widget } from './engine.ts';
import { Filters } from './filters.ts';

export interface Layout {
  filters: Filters;
  widgets: Widget[];
}

const NEEDS_QUERY = new Set(['kpi', 'line', 'area', 'bar', 'pie', 'table', 'alert']);

export function buildLayout(filterConfigs: Record<string, FilterConfig>, widgetConfigs: WidgetConfig[], viewFrom: string[], label: string): Layout {
  const filters = new Filters(filterConfigs);
  const ids = filters.ids();
  const known = new Set(['from', 'to', ...ids]);
  const checkParams = (sql: string, where: string) => {
    for (const name of templateParams(sql)) {
      if (!known.has(name)) throw new Error(`${label}: ${where} uses :${name}, which is neither :from, :to nor a filter (${ids.join(', ') || 'none declared'})`);
    }
  };
  for (const [id, def] of Object.entries(filterConfigs)) if (def.query) checkParams(def.query, `filter "${id}"`);

  const seen = new Set<string>();
  const widgets = widgetConfigs.map((config): Widget => {
    const where = `widget "${config.id}"`;
    if (seen.has(config.id)) throw new Error(`${label}: two widgets have the id "${config.id}"`);
    seen.add(config.id);
    if (RESERVED_WIDGET_IDS.includes(config.id)) throw new Error(`${label}: ${where}: the id is reserved (${RESERVED_WIDGET_IDS.join(', ')})`);
    if (NEEDS_QUERY.has(config.type) && !config.query) throw new Error(`${label}: ${where} (${config.type}) needs a query`);
    if (config.type === 'upload' && !config.target) throw new Error(`${label}: ${where} (upload) needs a target: the source step to fire`);
    if (config.type === 'alert' && !config.rules?.length) throw new Error(`${label}: ${where} (alert) needs rules`);
    if (config.query) checkParams(config.query, where);
    if (typeof config.sparkline === 'string') checkParams(config.sparkline, `${where} sparkline`);
    for (const id of config.filters ?? []) if (!filterConfigs[id]) throw new Error(`${label}: ${where} lists an unknown filter "${id}"`);
    for (const id of Object.keys(config.filterColumns ?? {})) if (!filterConfigs[id]) throw new Error(`${label}: ${where}: filterColumns names an unknown filter "${id}"`);
    // An upload card reports on the source it feeds.
    const from = config.from ?? (config.type === 'upload' && config.target ? uploadTargets(config.target) : viewFrom);
    return { config, applies: config.filters ?? ids, from };
  });
  return { filters, widgets };
}

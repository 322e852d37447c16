// Turns the dashboard config (or a generated one) into validated filters and widgets; errors name the widget.
// Filters bind by construction: a widget is refreshed by, and shows, exactly the filters that change its data.
import { parseTemplate, templateParams } from '../shared/sql.ts';
import type { FilterConfig, WidgetConfig } from './config.ts';
import { widgetType } from '../ui/widgets/index.ts';
import { RESERVED_WIDGET_IDS } from './config.ts';
import type { Widget } from './engine.ts';
import { Filters } from './filters.ts';

export interface Layout {
  filters: Filters;
  widgets: Widget[];
}

const TIME_FILTERS = new Set(['timeRange', 'dateRange']);

/**
 * `producers(sql)` names the steps writing what a query reads (the pipeline knows which sink writes which table);
 * a widget without `from:` takes them, or the view's `from` when it finds none.
 */
export function buildLayout(
  filterConfigs: Record<string, FilterConfig>,
  widgetConfigs: WidgetConfig[],
  viewFrom: string[],
  label: string,
  producers: (sql: string) => string[] = () => [],
): Layout {
  const filters = new Filters(filterConfigs);
  const ids = filters.ids();
  const known = new Set(['from', 'to', ...ids]);
  const checkParams = (sql: string, where: string) => {
    for (const name of templateParams(sql)) {
      if (!known.has(name))
        throw new Error(
          `${label}: ${where} uses :${name}, which is neither :from, :to nor a filter (${ids.join(', ') || 'none declared'})`,
        );
    }
  };
  for (const [id, def] of Object.entries(filterConfigs)) if (def.query) checkParams(def.query, `filter "${id}"`);

  const seen = new Set<string>();
  const widgets = widgetConfigs.map((config): Widget => {
    const where = `widget "${config.id}"`;
    if (seen.has(config.id)) throw new Error(`${label}: two widgets have the id "${config.id}"`);
    seen.add(config.id);
    if (RESERVED_WIDGET_IDS.includes(config.id))
      throw new Error(`${label}: ${where}: the id is reserved (${RESERVED_WIDGET_IDS.join(', ')})`);
    // The type's own rule (widgets/<type>/): a query for a widget drawn from rows, rules for an alert…
    const kind = widgetType(config.type);
    const problem = kind.query && !config.query ? 'needs a query' : kind.check?.(config);
    if (problem) throw new Error(`${label}: ${where} (${config.type}) ${problem}`);
    if (config.query) checkParams(config.query, where);
    if (typeof config.sparkline === 'string') checkParams(config.sparkline, `${where} sparkline`);
    for (const id of config.filters ?? [])
      if (!filterConfigs[id]) throw new Error(`${label}: ${where} lists an unknown filter "${id}"`);
    for (const id of Object.keys(config.filterColumns ?? {}))
      if (!filterConfigs[id]) throw new Error(`${label}: ${where}: filterColumns names an unknown filter "${id}"`);
    const applies = config.filters ?? ids;
    const affects = affecting(config, applies, filterConfigs);
    for (const id of config.filters ?? []) {
      if (!affects.includes(id)) {
        throw new Error(
          `${label}: ${where} lists the filter "${id}", but its query neither has {{where}}/{{and}} for the filter's column nor uses :${id}${TIME_FILTERS.has(filterConfigs[id].type) ? ', :from or :to' : ''}`,
        );
      }
    }
    // An upload card reports on the source it feeds; a query card on the steps writing what it reads.
    const inferred = config.query
      ? producers([config.query, typeof config.sparkline === 'string' ? config.sparkline : ''].join('\n'))
      : [];
    const from = config.from ?? kind.from?.(config) ?? (inferred.length ? inferred : viewFrom);
    return { config, applies, affects, from };
  });
  return { filters, widgets };
}

/**
 * The filters that change a widget's data: those whose condition lands in a `{{where}}`/`{{and}}` of its query,
 * those it uses as `:<filter>` (bound whether listed in `filters:` or not), and the time filter behind `:from`/`:to`.
 */
function affecting(config: WidgetConfig, applies: string[], defs: Record<string, FilterConfig>): string[] {
  const sqls = [config.query ?? '', typeof config.sparkline === 'string' ? config.sparkline : ''];
  const params = new Set(sqls.flatMap((sql) => templateParams(sql)));
  const slot = sqls.some((sql) => parseTemplate(sql).some((part) => part.kind === 'slot'));
  const out = new Set<string>();
  for (const id of applies) {
    const def = defs[id];
    const column = config.filterColumns?.[id] ?? def.column;
    if ((slot && column) || params.has(id)) out.add(id);
    // :from/:to hold the window of the time filters the widget responds to.
    else if (TIME_FILTERS.has(def.type) && (params.has('from') || params.has('to'))) out.add(id);
  }
  for (const id of params) if (defs[id]) out.add(id);
  return Object.keys(defs).filter((id) => out.has(id));
}

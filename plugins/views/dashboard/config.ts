// The dashboard's configuration (`with:` of a `use: dashboard` step): types derived from schema.ts.
import type { ConfigOf, DeclaredOf } from '../../../core/sdk/index.ts';
import type { ColumnSpec, FilterType, Format, WidgetModel, WidgetType } from '../ui/types.ts';
import type { DASHBOARD_SCHEMA, FILTER, WIDGET } from './schema.ts';

export type DashboardConfig = ConfigOf<typeof DASHBOARD_SCHEMA>;
// Filters and widgets as declared, defaults not applied: auto mode (auto.ts) builds them itself, so the code reading
// them applies the defaults.
export type FilterConfig = DeclaredOf<typeof FILTER>;
export type WidgetConfig = DeclaredOf<typeof WIDGET>;

/** Ids a widget cannot take: they name other endpoints of the view's API. */
export const RESERVED_WIDGET_IDS = ['events', 'filters', 'upload', 'assets', 'openapi'];

// The page's model types (ui/types.ts, browser code) repeat some of the schema's enums and shapes: tsc fails here when
// they no longer say the same (a value the schema admits that the page cannot show, or the reverse).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SCHEMA_MATCHES_PAGE_MODEL: [
  Same<NonNullable<WidgetConfig['format']>, Format>,
  Same<WidgetConfig['type'], WidgetType>,
  Same<FilterConfig['type'], FilterType>,
  Same<NonNullable<WidgetConfig['columns']>[string], ColumnSpec>,
  Same<NonNullable<WidgetConfig['scale']>, NonNullable<WidgetModel['scale']>>,
] = [true, true, true, true, true];

// The dashboard's configuration (`with:` of a `use: dashboard` step): types derived from schema.ts.
import type { ConfigOf, DeclaredOf } from '../../../core/sdk/index.ts';
import type { DASHBOARD_SCHEMA, FILTER, WIDGET } from './schema.ts';

export type DashboardConfig = ConfigOf<typeof DASHBOARD_SCHEMA>;
// Filters and widgets as declared, defaults not applied: auto mode (auto.ts) builds them itself, so the code reading
// them applies the defaults.
export type FilterConfig = DeclaredOf<typeof FILTER>;
export type WidgetConfig = DeclaredOf<typeof WIDGET>;

/** Ids a widget cannot take: they name other endpoints of the view's API. */
export const RESERVED_WIDGET_IDS = ['events', 'filters', 'upload', 'assets', 'openapi'];

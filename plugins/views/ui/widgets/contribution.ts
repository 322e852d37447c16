// A widget type (a chart type, a KPI, a table…) as a contribution: everything the dashboard knows about one type —
// the properties it adds to a widget's schema, its layout rule, its defaults and the body of its card — comes from
// its folder here, listed once in index.ts. The server (schema, layout, engine) and the page (app.tsx) ask the
// registry, never a type's name.
import type { JSX } from 'preact';
import type { ConfigSchema, DeclaredOf } from '../../../../core/sdk/index.ts';
import type { TableQuery } from '../api.ts';
import type { FieldContext } from '../format.ts';
import type { PageModel, WidgetModel, WidgetResult } from '../types.ts';

/** JSON Schemas of the properties a widget type adds, by name. */
export type WidgetProperties = Readonly<Record<string, ConfigSchema>>;

/**
 * A widget's `with:` entry as the layout rule sees it: the common fields and the properties its type added, typed by
 * their schemas (`P`, the type's `properties`); any other field is unknown.
 */
export type WidgetDeclaration<P extends WidgetProperties = WidgetProperties> = {
  id: string;
  type: string;
  query?: string;
  [property: string]: unknown;
} & (string extends keyof P ? unknown : DeclaredOf<{ type: 'object'; properties: P }>);

/** What every card body gets. */
export interface BodyProps {
  widget: WidgetModel;
  model: PageModel;
  context: FieldContext;
  theme: 'light' | 'dark';
  /** Milliseconds since the epoch, ticking every 15 s. */
  now: number;
}

/** What the body of a widget with data gets besides: its latest result and, for a paged widget, its page. */
export interface DataBodyProps extends BodyProps {
  result: WidgetResult;
  loading: boolean;
  /** A time filter changes this widget (an empty state suggests a wider range). */
  timeFiltered: boolean;
  table: TableQuery;
  onTable(next: TableQuery): void;
}

interface Common<P extends WidgetProperties> {
  /** The `type:` of the widget. */
  type: string;
  /** JSON Schema of the properties the type adds to a widget (merged into the dashboard's widget schema; a
   * property two types declare must mean the same in both). */
  properties?: P;
  /** Grid columns out of 4 when the widget gives no `width`. */
  width: 1 | 2 | 3 | 4;
  /** Problems beyond the schema, e.g. a property the type needs ("needs rules"); undefined when none. */
  check?(config: WidgetDeclaration<P>): string | undefined;
  /** The fields of the card's model the type adds (the server computes them; no SQL, no secrets). */
  model?(config: WidgetDeclaration<P>, view: { maxUploadBytes: number }): Partial<WidgetModel>;
  /** The steps the card reports on, when not those writing what its query reads (an upload: the sources it fires). */
  from?(config: WidgetDeclaration<P>): string[];
}

/** A widget drawn from the rows of its SQL query (required), refetched when its filters or producers change. */
export interface DataWidgetContribution<P extends WidgetProperties = WidgetProperties> extends Common<P> {
  query: true;
  Body(props: DataBodyProps): JSX.Element;
  /** The placeholder while the first answer is on its way. */
  skeleton: 'kpi' | 'chart' | 'table';
  /** The card offers its rows as CSV. */
  csv?: boolean;
  /** With `series:`, every name the series column takes unfiltered is sent along (colours stay with names). */
  seriesDomain?: boolean;
  /** The server pages, sorts and searches its rows (`pageSize`; sort, order, q). */
  paged?: boolean;
  /** The body shows these states itself rather than the card's error or empty state (an alert: "Error", "No data"). */
  shows?: { error?: boolean; empty?: boolean };
}

/** A widget without a query (text, an upload form): drawn from its model alone. */
export interface StaticWidgetContribution<P extends WidgetProperties = WidgetProperties> extends Common<P> {
  query: false;
  Body(props: BodyProps): JSX.Element;
  /** The card shows the pipeline footer (freshness of `from`) — an upload does, a text does not. */
  footer: boolean;
}

export type WidgetContribution = DataWidgetContribution | StaticWidgetContribution;

// JSON Schema of the dashboard's `with:` (drives validation, defaults, `platform plugins` and docs).
import { configSchema, duration } from '../../../core/sdk/index.ts';
import { WIDGET_TYPES, widgetTypeProperties } from '../ui/widgets/index.ts';

const FORMAT = configSchema({
  enum: ['number', 'currency', 'percent', 'integer', 'duration'],
  description:
    'How values are shown: number (compact above 100k), currency (see currency), percent (0.05 → 5%), integer, duration (milliseconds, or seconds with unit: s).',
});

const COLUMN = configSchema({
  type: 'object',
  additionalProperties: false,
  properties: {
    label: { type: 'string', description: 'Header / legend label.' },
    format: FORMAT,
    currency: { type: 'string', description: 'ISO 4217 code for format: currency.' },
    currencyColumn: {
      type: 'string',
      description: 'Money in the currency named by this other column of the row (format: currency implied).',
      examples: ['currency'],
    },
    unit: { type: 'string', description: 'Suffix for number/integer; input unit (ms|s) for duration.' },
    decimals: {
      type: 'integer',
      minimum: 0,
      maximum: 6,
      description: 'Fraction digits, always shown (tables, tooltips, cards).',
    },
  },
});

export const FILTER = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: {
      enum: ['select', 'multiSelect', 'dateRange', 'timeRange'],
      description:
        'select: one value or all; multiSelect: several values; dateRange: from..to dates; timeRange: a relative range such as 24h.',
    },
    label: { type: 'string', description: 'Label in the header (default: the id).' },
    column: {
      type: 'string',
      description: 'SQL column (or expression) the filter constrains where a widget query says {{where}} or {{and}}.',
      examples: ['country', 'f.order_ts'],
    },
    table: {
      type: 'string',
      description:
        'Table holding column: source of the options of a select without options/query, and of the newest time for anchor: latest.',
      examples: ['sales'],
    },
    options: {
      type: 'array',
      description:
        'Static choices. timeRange: durations or "all" (default 12h, 24h, 7d, 30d, all). select/multiSelect: values or {value, label}.',
      items: {
        anyOf: [
          { type: ['string', 'number'] },
          {
            type: 'object',
            additionalProperties: false,
            required: ['value'],
            properties: { value: { type: ['string', 'number'] }, label: { type: 'string' } },
          },
        ],
      },
      examples: [['12h', '24h', '7d']],
    },
    query: {
      type: 'string',
      description:
        'SQL returning value[, label] for the choices. It may use {{where}}/{{and}} and :<filter> of the filters in dependsOn: the choices narrow when those change (cascading filters).',
      examples: ['SELECT DISTINCT state FROM dim_location {{where}} ORDER BY 1'],
    },
    dependsOn: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description: "Filters whose values constrain this filter's query (parents of a cascade).",
    },
    default: {
      type: ['string', 'number', 'array'],
      items: { type: ['string', 'number'] },
      description:
        'Initial value: an option (timeRange default 24h), "from..to" for dateRange, a list for multiSelect.',
    },
    anchor: {
      enum: ['now', 'latest'],
      default: 'now',
      description: 'timeRange: ranges end now, or at the newest value of column in table (for data that is not live).',
    },
    valueType: {
      enum: ['string', 'integer', 'number'],
      default: 'string',
      description: 'select/multiSelect: values are validated and bound with this type.',
    },
  },
});

export const WIDGET = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type'],
  properties: {
    id: {
      type: 'string',
      pattern: '^[A-Za-z][A-Za-z0-9_-]*$',
      description: 'Identifier; the data API is /api/views/<view>/<id>.',
    },
    type: { enum: WIDGET_TYPES.map((t) => t.type), description: 'What the card shows.' },
    title: { type: 'string', description: 'Card title (default: the id).' },
    description: { type: 'string', description: 'A line under the title.' },
    query: {
      type: 'string',
      description:
        'SQL. {{where}} (or {{and}} inside an existing WHERE) expands to the active filters as bound conditions; :from, :to and :<filter> are bound parameters. User input is never pasted into SQL.',
      examples: ['SELECT country, sum(amount) AS revenue FROM sales {{where}} GROUP BY 1 ORDER BY 2 DESC'],
    },
    format: FORMAT,
    currency: {
      type: 'string',
      description: "ISO 4217 code for format: currency (default: the view's currency).",
      examples: ['EUR'],
    },
    unit: { type: 'string', description: 'Suffix for number/integer; input unit (ms|s) for duration.' },
    decimals: { type: 'integer', minimum: 0, maximum: 6, description: 'Fraction digits.' },
    x: { type: 'string', description: 'Charts: the category/time column (default: the first column).' },
    y: {
      type: ['string', 'array'],
      items: { type: 'string' },
      description:
        'Charts: value column(s), one series each (default: every other numeric column). KPI: the value column (default: value, else the first).',
    },
    series: {
      type: 'string',
      description: 'line/area/bar: a column whose values split the data into series (e.g. one line per currency).',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 1000,
      description: 'Charts, KPIs and alerts: rows read at most.',
    },
    columns: {
      type: 'object',
      additionalProperties: COLUMN,
      description: 'Labels and formats per column.',
      examples: [{ revenue: { label: 'Revenue', format: 'currency', currency: 'EUR' } }],
    },
    filters: {
      type: 'array',
      items: { type: 'string' },
      description:
        "Filters whose conditions go into the query's {{where}}/{{and}} (default: all; [] for none). A filter the query uses as :<filter> applies too, listed or not; a listed filter that cannot apply is an error.",
    },
    filterColumns: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        "Per filter, the column to use in this widget's query instead of the filter's column (e.g. a table alias).",
      examples: [{ region: 'l.region' }],
    },
    from: {
      type: 'array',
      items: { type: 'string' },
      description: "Steps producing the data (default: the view's from); used for freshness, rejects and live refresh.",
    },
    width: {
      type: 'integer',
      minimum: 1,
      maximum: 4,
      description: 'Grid columns out of 4 (default: kpi 1, table 4, others 2).',
    },
    height: { type: 'integer', minimum: 120, maximum: 1000, description: 'Chart height in pixels (default 280).' },
    rollup: {
      enum: ['auto', 'always', 'off'],
      default: 'auto',
      description:
        'An aggregate over one DuckDB table (sum, count, min, max, avg) can be answered from a rollup the view derives: the table grouped by the columns the query and its filters read, rebuilt after each commit to the table and used only while current. auto: when the table has 100,000 rows or more and the rollup at most a tenth of them; always: whenever the query allows; off: always the raw query.',
    },
    // What each type adds: downIsGood (kpi), stack/smooth/scale/top (charts), pageSize (table), rules (alert)…
    ...widgetTypeProperties(),
  },
});

export const DASHBOARD_SCHEMA = configSchema({
  type: 'object',
  additionalProperties: false,
  properties: {
    title: { type: 'string', description: 'Page title (default: the step id).', examples: ['GlobeMart revenue'] },
    description: { type: 'string', description: 'A line under the title.' },
    refresh: duration({
      default: '30s',
      description: 'Polling interval when live updates (server-sent events) are unavailable.',
      examples: ['5s'],
    }),
    tables: {
      type: 'array',
      items: { type: 'string' },
      description:
        "Auto mode: without widgets, a page is generated from these tables' schemas (KPI sums of numeric columns, a time series, bars/pies of low-cardinality text columns, a table).",
      examples: [['sales']],
    },
    filters: {
      type: 'object',
      additionalProperties: FILTER,
      default: {},
      description: 'Filters by id; the id is also the URL/API parameter name.',
    },
    widgets: { type: 'array', items: WIDGET, description: 'Cards, in page order.' },
    viewRole: {
      type: 'string',
      default: 'viewer',
      description: 'Role needed to see the page and its data (unless the view is public in access:).',
    },
    uploadRole: { type: 'string', default: 'uploader', description: 'Role needed to upload files.' },
    locale: { type: 'string', default: 'en-US', description: 'Locale for numbers.' },
    timeZone: {
      type: 'string',
      default: 'UTC',
      description: 'IANA zone every timestamp on the page is shown in (named next to it); dates stay dates.',
      examples: ['Europe/Berlin', 'Asia/Kolkata'],
    },
    currency: { type: 'string', description: 'Default ISO 4217 currency for format: currency.', examples: ['EUR'] },
    maxUploadBytes: {
      type: 'integer',
      minimum: 1,
      default: 26_214_400,
      description: 'Upload size limit in bytes (25 MiB).',
    },
  },
});

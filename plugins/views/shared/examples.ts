// Manifest examples of the view plugins (shown by `platform plugins` / docs, and run by examples.test.ts).

export const GLOBEMART_YAML = `revenue:
  use: dashboard
  from: [warehouse]
  connection: warehouse
  with:
    title: GlobeMart revenue
    description: Orders from every store, converted to EUR at the hourly FX rate.
    refresh: 10s
    currency: EUR
    filters:
      period: { type: timeRange, label: Period, column: order_ts, options: [12h, 24h, 7d], default: 24h }
      country: { type: select, label: Country, column: country, table: orders }
      currency: { type: multiSelect, label: Currency, column: currency, options: [EUR, USD, GBP, JPY] }
    widgets:
      - { id: revenue, type: kpi, title: Revenue, format: currency, sparkline: true,
          query: "SELECT sum(amount_eur) AS value FROM orders {{where}}" }
      - { id: orders, type: kpi, title: Orders, format: integer, query: "SELECT count(*) AS value FROM orders {{where}}" }
      - { id: avg_order, type: kpi, title: Average order, format: currency, query: "SELECT avg(amount_eur) AS value FROM orders {{where}}" }
      - { id: countries, type: kpi, title: Countries, format: integer, delta: none, query: "SELECT count(DISTINCT country) AS value FROM orders {{where}}" }
      - { id: by_country, type: bar, title: Revenue by country, format: currency, top: 10,
          query: "SELECT country, sum(amount_eur) AS revenue FROM orders {{where}} GROUP BY 1 ORDER BY 2 DESC" }
      - { id: by_currency, type: pie, title: Revenue by currency, format: currency,
          query: "SELECT currency, sum(amount_eur) AS revenue FROM orders {{where}} GROUP BY 1 ORDER BY 2 DESC" }
      - { id: hourly, type: area, title: Hourly revenue, format: currency, x: hour,
          query: "SELECT date_trunc('hour', order_ts) AS hour, sum(amount_eur) AS revenue FROM orders {{where}} GROUP BY 1 ORDER BY 1" }
      - { id: fx, type: line, title: FX rates per EUR, x: ts, y: rate, series: currency, decimals: 4,
          filters: [period], filterColumns: { period: ts },
          query: "SELECT ts, currency, rate FROM fx_rates {{where}} ORDER BY ts" }
      - { id: latest, type: table, title: Latest orders, pageSize: 10,
          columns: { amount_eur: { label: Amount, format: currency }, order_ts: { label: Time } },
          query: "SELECT order_ts, country, currency, amount, amount_eur FROM orders {{where}} ORDER BY order_ts DESC" }
`;

export const MONITOR_YAML = `monitor:
  use: dashboard
  from: [kpis]
  connection: warehouse
  with:
    title: Revenue monitor
    refresh: 5s
    currency: EUR
    filters:
      period: { type: timeRange, label: Period, column: ts, options: [1h, 6h, 24h, 7d], default: 6h }
    widgets:
      - id: status
        type: alert
        title: Status
        filters: []
        query: "SELECT revenue, failure_rate, p95_ms FROM kpis ORDER BY ts DESC LIMIT 1"
        columns: { failure_rate: { label: Failure rate, format: percent }, p95_ms: { label: p95, format: duration } }
        rules: &monitor-rules
          - { when: { field: failure_rate, op: '>', value: 0.05 }, state: CRIT, reason: "failure rate {failure_rate} above 5%" }
          - { when: { field: p95_ms, op: '>', value: 800 }, state: WARN, reason: "p95 latency {p95_ms} ms above 800 ms" }
          - { when: { field: revenue, op: '<', value: 1000 }, state: WARN, reason: "revenue {revenue} below 1,000 a minute" }
      - { id: revenue, type: kpi, title: Revenue, format: currency, sparkline: true, query: "SELECT sum(revenue) AS value FROM kpis {{where}}" }
      - { id: failure_rate, type: kpi, title: Failure rate, format: percent, downIsGood: true, query: "SELECT avg(failure_rate) AS value FROM kpis {{where}}" }
      - { id: revenue_trend, type: area, title: Revenue a minute, format: currency, x: ts, y: revenue, query: "SELECT ts, revenue FROM kpis {{where}} ORDER BY ts" }
      - { id: failure_trend, type: line, title: Failure rate, format: percent, x: ts, y: failure_rate, query: "SELECT ts, failure_rate FROM kpis {{where}} ORDER BY ts" }
      - { id: p95_trend, type: line, title: p95 latency, format: duration, x: ts, y: p95_ms, query: "SELECT ts, p95_ms FROM kpis {{where}} ORDER BY ts" }
      - { id: kpi_table, type: table, title: KPIs, pageSize: 15, query: "SELECT * FROM kpis {{where}} ORDER BY ts DESC",
          columns: { revenue: { format: currency }, failure_rate: { label: Failure rate, format: percent }, p95_ms: { label: p95, format: duration } } }
monitor-api:
  use: api
  from: [kpis]
  connection: warehouse
  with:
    health: { path: /health, maxAge: 5m }
    endpoints:
      - path: kpis/latest
        alias: /api/kpis/latest
        description: The latest KPI rows, newest first, with the monitor's status
        query: SELECT ts, revenue, failure_rate, p95_ms FROM kpis ORDER BY ts DESC LIMIT :limit
        params: { limit: { type: integer, minimum: 1, maximum: 500, default: 50, description: Rows to return } }
        formats: [json, csv]
        rules: *monitor-rules
`;

export const STAR_SCHEMA_YAML = `sales-star:
  use: dashboard
  from: [facts]
  connection: warehouse
  with:
    title: Sales (star schema)
    filters:
      dates: { type: dateRange, label: Dates, column: d.date, default: "2024-01-01..2024-01-31" }
      region: { type: select, label: Region, column: l.region, query: "SELECT DISTINCT region FROM dim_location ORDER BY 1" }
      state: { type: select, label: State, column: l.state, dependsOn: [region],
               query: "SELECT DISTINCT state FROM dim_location l {{where}} ORDER BY 1" }
      city: { type: select, label: City, column: l.city, dependsOn: [region, state],
              query: "SELECT DISTINCT city FROM dim_location l {{where}} ORDER BY 1" }
      channel: { type: multiSelect, label: Channel, column: f.channel, options: [web, store, phone] }
    widgets:
      - { id: revenue, type: kpi, title: Revenue, format: currency, currency: USD,
          query: "SELECT sum(f.amount) AS value FROM fact_sales f JOIN dim_date d USING (date_key) JOIN dim_location l USING (location_key) {{where}}" }
      - id: moving_average
        type: line
        title: Daily revenue and 7-day moving average
        format: currency
        currency: USD
        x: date
        y: [revenue, avg_7d]
        columns: { revenue: { label: Revenue }, avg_7d: { label: 7-day average } }
        query: >-
          SELECT date, revenue, avg(revenue) OVER (ORDER BY date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS avg_7d
          FROM (SELECT d.date, sum(f.amount) AS revenue FROM fact_sales f JOIN dim_date d USING (date_key)
                JOIN dim_location l USING (location_key) {{where}} GROUP BY 1) t ORDER BY date
`;

// Alert card body: a status pill (OK / WARN / CRIT / NoData / Error) and every reason that fired.
import type { JSX } from 'preact';
import { columnLabel, formatCell, type FieldContext } from '../../format.ts';
import type { AlertState, WidgetModel, WidgetResult } from '../../types.ts';

const LABEL: Record<AlertState, string> = {
  OK: 'OK',
  WARN: 'Warning',
  CRIT: 'Critical',
  NoData: 'No data',
  Error: 'Error',
};

export function StatusPill({ state }: { state: AlertState }): JSX.Element {
  return (
    <span class={`pill pill-${state.toLowerCase()}`} data-status={state}>
      <span class="pill-dot" />
      {LABEL[state]}
    </span>
  );
}

export function AlertBody({
  widget,
  result,
  context,
}: {
  widget: WidgetModel;
  result: WidgetResult;
  context: FieldContext;
}): JSX.Element {
  const state = result.status ?? (result.error ? 'Error' : 'NoData');
  const reasons = result.reasons ?? [];
  const row = result.data[0];
  const fields = row ? Object.entries(row).slice(0, 6) : [];
  return (
    <div class={`alert alert-${state.toLowerCase()}`}>
      <div class="alert-top">
        <StatusPill state={state} />
        {state === 'OK' && <span class="alert-note">All rules pass</span>}
      </div>
      {reasons.length > 0 && (
        <ul class="reasons">
          {reasons.map((reason, i) => (
            <li key={i}>{reason}</li>
          ))}
        </ul>
      )}
      {fields.length > 0 && (
        <dl class="alert-fields">
          {fields.map(([name, value]) => {
            const spec = widget.columns[name];
            const column = result.meta.columns.find((c) => c.name === name);
            const text = formatCell(value, column, spec, context, row);
            return (
              <div key={name} class={text.length > 12 ? 'field-wide' : undefined}>
                <dt>{columnLabel(name, spec, column, context.timeZone)}</dt>
                <dd>{text}</dd>
              </div>
            );
          })}
        </dl>
      )}
    </div>
  );
}

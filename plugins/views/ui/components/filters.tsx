// The filter bar: time range as a segmented control, selects, multi-selects (checkbox popover) and date ranges.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { FilterModel } from '../types.ts';
import { ChevronIcon } from './icons.tsx';

export type FilterChange = (id: string, value: string | string[] | null) => void;

export function FilterBar({
  filters,
  onChange,
}: {
  filters: FilterModel[];
  onChange: FilterChange;
}): JSX.Element | null {
  if (filters.length === 0) return null;
  return (
    <div class="filters" role="group" aria-label="Filters">
      {filters.map((f) => (
        <FilterControl key={f.id} filter={f} onChange={onChange} />
      ))}
    </div>
  );
}

function FilterControl({ filter, onChange }: { filter: FilterModel; onChange: FilterChange }): JSX.Element {
  switch (filter.type) {
    case 'timeRange':
      return (
        <div class="field">
          <span class="field-label">{filter.label}</span>
          <div class="seg" role="radiogroup" aria-label={filter.label} data-filter={filter.id}>
            {filter.options.map((o) => (
              <button
                key={o.value}
                type="button"
                role="radio"
                aria-checked={filter.value === o.value ? 'true' : 'false'}
                class={filter.value === o.value ? 'seg-on' : ''}
                title={o.label}
                data-value={o.value}
                onClick={() => onChange(filter.id, o.value)}
              >
                {o.value === 'all' ? 'All' : o.value}
              </button>
            ))}
          </div>
        </div>
      );
    case 'select':
      return (
        <label class="field">
          <span class="field-label">{filter.label}</span>
          <span class="select">
            <select
              data-filter={filter.id}
              value={(filter.value as string | null) ?? ''}
              onChange={(e) => onChange(filter.id, (e.target as HTMLSelectElement).value || null)}
            >
              <option value="">All</option>
              {filter.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <ChevronIcon />
          </span>
        </label>
      );
    case 'multiSelect':
      return <MultiSelect filter={filter} onChange={onChange} />;
    case 'dateRange': {
      const [from = '', to = ''] = typeof filter.value === 'string' ? filter.value.split('..') : [];
      const set = (a: string, b: string) => onChange(filter.id, a || b ? `${a}..${b}` : null);
      return (
        <div class="field">
          <span class="field-label">{filter.label}</span>
          <span class="daterange" data-filter={filter.id}>
            <input
              type="date"
              value={from}
              max={to || undefined}
              aria-label={`${filter.label} from`}
              onChange={(e) => set((e.target as HTMLInputElement).value, to)}
            />
            <span class="daterange-sep">→</span>
            <input
              type="date"
              value={to}
              min={from || undefined}
              aria-label={`${filter.label} to`}
              onChange={(e) => set(from, (e.target as HTMLInputElement).value)}
            />
          </span>
        </div>
      );
    }
  }
}

/** A checkbox list in a popover; it closes on Escape (focus back on its button) and on a click outside it. */
function MultiSelect({ filter, onChange }: { filter: FilterModel; onChange: FilterChange }): JSX.Element {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDetailsElement>(null);
  // The element itself is closed too: the browser opens it before its toggle event reaches the state.
  const close = () => {
    if (root.current) root.current.open = false;
    setOpen(false);
  };
  useEffect(() => {
    if (!open) return;
    const outside = (event: Event) => {
      if (root.current && !root.current.contains(event.target as Node)) close();
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('focusin', outside);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('focusin', outside);
    };
  }, [open]);
  // Escape is heard on the element (focus is inside it once it opened), at once, whatever the state says yet.
  const escape = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || !root.current?.open) return;
    close();
    root.current.querySelector('summary')?.focus();
  };
  const chosen = Array.isArray(filter.value) ? filter.value : [];
  const labels = filter.options.filter((o) => chosen.includes(o.value)).map((o) => o.label);
  const summary = chosen.length === 0 ? 'All' : labels.length <= 2 ? labels.join(', ') : `${labels.length} selected`;
  const toggle = (value: string) =>
    onChange(filter.id, chosen.includes(value) ? chosen.filter((v) => v !== value) : [...chosen, value]);
  return (
    <div class="field">
      <span class="field-label">{filter.label}</span>
      <details
        class="ms"
        data-filter={filter.id}
        ref={root}
        open={open}
        onKeyDown={escape}
        onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}
      >
        <summary class="select ms-summary" aria-haspopup="listbox" aria-expanded={open ? 'true' : 'false'}>
          <span>{summary || 'All'}</span>
          <ChevronIcon />
        </summary>
        <div class="ms-panel" role="group" aria-label={filter.label}>
          {filter.options.length === 0 && <span class="ms-empty">No values</span>}
          {filter.options.map((o) => (
            <label key={o.value} class="ms-option">
              <input
                type="checkbox"
                value={o.value}
                checked={chosen.includes(o.value)}
                onChange={() => toggle(o.value)}
              />
              <span>{o.label}</span>
            </label>
          ))}
          {chosen.length > 0 && (
            <button type="button" class="ms-clear" onClick={() => onChange(filter.id, [])}>
              Clear
            </button>
          )}
        </div>
      </details>
    </div>
  );
}

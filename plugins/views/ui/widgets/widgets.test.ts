// The widget-type registry: every registered type is in the dashboard's schema with the properties it adds, a
// property two types declare alike is merged and declared differently refused, a type's layout rule is applied
// with the widget named, and a pie's slices.
import { describe, expect, it } from 'vitest';
import { buildLayout } from '../../dashboard/layout.ts';
import { DASHBOARD_SCHEMA } from '../../dashboard/schema.ts';
import type { ConfigSchema } from '../../../../core/sdk/index.ts';
import type { WidgetConfig } from '../../dashboard/config.ts';
import type { DataWidgetContribution } from './contribution.ts';
import { WIDGET_TYPES, widgetType, widgetTypeProperties } from './index.ts';
import { pieSlices } from './pie/body.tsx';

const widgetSchema = (
  DASHBOARD_SCHEMA.properties.widgets as unknown as { items: { properties: Record<string, { enum?: string[] }> } }
).items;

describe('widget types', () => {
  it('puts every registered type and the properties it adds into the widget schema', () => {
    expect(widgetSchema.properties.type.enum).toEqual(WIDGET_TYPES.map((t) => t.type));
    expect(widgetSchema.properties.type.enum).toEqual(
      expect.arrayContaining(['kpi', 'line', 'area', 'bar', 'pie', 'table', 'alert', 'upload', 'text']),
    );
    for (const type of WIDGET_TYPES) {
      for (const [name, schema] of Object.entries(type.properties ?? {}))
        expect(widgetSchema.properties[name], `${type.type}.${name}`).toEqual(schema);
    }
    expect(Object.keys(widgetSchema.properties)).toEqual(
      expect.arrayContaining([
        'downIsGood',
        'stack',
        'smooth',
        'scale',
        'top',
        'pageSize',
        'rules',
        'target',
        'accept',
        'maxBytes',
        'text',
      ]),
    );
  });

  it('merges a property declared alike by two types and refuses one declared differently', () => {
    const chart = (type: string, top: ConfigSchema): DataWidgetContribution => ({
      type,
      query: true,
      width: 2,
      skeleton: 'chart',
      properties: { top },
      Body: () => null as never,
    });
    expect(widgetTypeProperties([chart('a', { type: 'integer' }), chart('b', { type: 'integer' })])).toEqual({
      top: { type: 'integer' },
    });
    expect(() => widgetTypeProperties([chart('a', { type: 'integer' }), chart('b', { type: 'string' })])).toThrow(
      'widget types "a" and "b" declare the property "top" differently',
    );
  });

  it("applies each type's layout rule, naming the widget", () => {
    const layout = (widget: WidgetConfig) => () => buildLayout({}, [widget], ['src'], 'step "dash"');
    expect(layout({ id: 'k', type: 'kpi' })).toThrow('step "dash": widget "k" (kpi) needs a query');
    expect(layout({ id: 'a', type: 'alert', query: 'SELECT 1' })).toThrow(
      'step "dash": widget "a" (alert) needs rules',
    );
    expect(layout({ id: 'u', type: 'upload' })).toThrow(
      'step "dash": widget "u" (upload) needs a target: the source step to fire',
    );
    // An upload card reports on the sources it fires; a text needs nothing.
    expect(
      buildLayout(
        {},
        [
          { id: 'u', type: 'upload', target: ['a', 'b'] },
          { id: 't', type: 'text' },
        ],
        ['src'],
        'x',
      ).widgets.map((w) => w.from),
    ).toEqual([['a', 'b'], ['src']]);
    expect(() => widgetType('gauge')).toThrow(
      'unknown widget type "gauge" (known: kpi, line, area, bar, pie, table, alert, upload, text',
    );
  });

  it('keeps the top N slices of a pie and puts the rest in Other', () => {
    expect(
      pieSlices(
        [
          ['a', 1],
          ['b', 5],
          ['c', 3],
          ['d', null],
        ],
        2,
      ),
    ).toEqual([
      ['b', 5],
      ['c', 3],
      ['Other', 1],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { stepStats } from '../shared/testing.ts';
import { emptyReason } from './components/card.tsx';
import { corePages, renderDeadLetterPage, renderIndexPage } from './pages.tsx';
import type { Freshness, WidgetResult } from './types.ts';

const EVIL = '<img src=x onerror=alert(1)>';

describe('server-rendered pages', () => {
  it('renders the pipeline as a graph laid out by its edges, with counts, anchors and view links, and a step list for phones', () => {
    const html = renderIndexPage({
      pipeline: 'globemart',
      description: EVIL,
      views: [{ id: 'revenue', title: 'Revenue', path: '/views/revenue' }],
      steps: [
        stepStats('warehouse', {
          from: ['convert'],
          recordsIn: 1200,
          lastCommitAt: '2024-01-01T00:00:00Z',
          totals: { recordsIn: 5200, recordsOut: 5200, batches: 9, since: '2023-12-01T00:00:00Z' },
        }),
        stepStats('convert', {
          kind: 'transform',
          from: ['orders'],
          recordsIn: 1210,
          recordsOut: 1200,
          rejected: 10,
          run: { startedAt: '2024-01-01T00:00:00Z', rejected: 4 },
        }),
        stepStats('orders', {
          kind: 'source',
          recordsOut: 1210,
          lastError: `boom ${EVIL}`,
          errors: 1,
          lag: 42,
          dataFrom: ['landing'],
        }),
        stepStats('landing', { kind: 'sink', from: [] }),
      ],
    });
    const model = JSON.parse(html.match(/id="view-model">([^<]*)</)![1]) as {
      layout: { nodes: { id: string; y: number }[]; edges: { from: string; to: string; kind: string }[] };
    };
    const y = Object.fromEntries(model.layout.nodes.map((n) => [n.id, n.y])); // top to bottom, as the data flows
    expect(y.landing).toBeLessThan(y.orders);
    expect(y.orders).toBeLessThan(y.convert);
    expect(y.convert).toBeLessThan(y.warehouse);
    expect(model.layout.edges).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ from: 'orders', to: 'convert', kind: 'flow' }),
        expect.objectContaining({ from: 'landing', to: 'orders', kind: 'data' }),
      ]),
    );
    expect(html).toContain('id="step-orders"');
    expect(html).toContain('data-step-item="orders"'); // the phone list
    expect(html).toContain('href="/views/revenue"');
    expect(html).toContain('1,210');
    expect(html).toContain('data-stat="lag">42<');
    expect(html).toContain('10 rejected');
    expect(html).not.toContain(EVIL);
    expect(html).toContain('/assets/views/app.css');
    expect(html).toContain('/assets/views/pipeline.js'); // the live graph's script, not the dashboards'
    expect(html).not.toContain('app.js');
  });

  it('renders dead letters with reasons, origin and the record as escaped text, and pages', () => {
    const html = corePages.deadLetters({
      pipeline: 'p',
      total: 250,
      steps: ['convert'],
      offset: 100,
      limit: 100,
      entries: [
        {
          id: 7,
          at: '2024-01-01T00:00:00Z',
          step: 'convert',
          reasons: ['unknown country', EVIL],
          origin: 'orders.csv:17',
          record: { note: '</pre><script>alert(1)</script>' },
        },
      ],
    });
    expect(html).toContain('unknown country');
    expect(html).toContain('orders.csv:17');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;/pre>&lt;script>alert(1)&lt;/script>');
    expect(html).toContain('href="/dead-letter?steps=convert&amp;offset=0&amp;limit=100"');
    expect(html).toContain('href="/dead-letter?steps=convert&amp;offset=200&amp;limit=100"');
    expect(renderDeadLetterPage({ entries: [], total: 0 })).toContain('No rejected records');
  });
});

describe('empty states say why', () => {
  const empty = (freshness: Partial<Freshness>, filtered = false): WidgetResult => ({
    data: [],
    statistics: { rows: 0, elapsedMs: 1 },
    meta: {
      columns: [],
      filtered,
      freshness: {
        steps: ['orders', 'warehouse'],
        producer: 'warehouse',
        lastCommitAt: null,
        watermark: null,
        rejected: 0,
        delivered: 0,
        ...freshness,
      },
    },
  });

  it('every record rejected upstream', () => {
    expect(emptyReason(empty({ rejected: 1200 }))).toMatchObject({
      kind: 'rejected',
      detail: '1,200 records were sent to dead letters and none reached warehouse.',
    });
  });
  it('no data yet', () => {
    expect(emptyReason(empty({}, true))).toMatchObject({
      kind: 'waiting',
      detail: 'Waiting for the first commit of warehouse.',
    });
  });
  it('filtered to zero rows', () => {
    expect(emptyReason(empty({ lastCommitAt: '2024-01-01T00:00:00Z', delivered: 10 }, true))).toMatchObject({
      kind: 'filtered',
      title: 'No rows match the filters',
    });
  });
  it('just no rows', () => {
    expect(emptyReason(empty({ lastCommitAt: '2024-01-01T00:00:00Z', delivered: 10 }))).toMatchObject({ kind: 'none' });
  });
});

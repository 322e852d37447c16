import { describe, expect, it } from 'vitest';
import { stepStats } from '../shared/testing.ts';
import { emptyReason } from './components/card.tsx';
import { corePages, renderDeadLetterPage, renderIndexPage } from './pages.tsx';
import type { Freshness, WidgetResult } from './types.ts';

const EVIL = '<img src=x onerror=alert(1)>';

describe('server-rendered pages', () => {
  it('renders the pipeline overview in flow order with anchors, counts and view links', () => {
    const html = renderIndexPage({
      pipeline: 'globemart', description: EVIL, views: [{ id: 'revenue', title: 'Revenue', path: '/views/revenue' }],
      steps: [
        stepStats('warehouse', { from: ['convert'], recordsIn: 1200, lastCommitAt: '2024-01-01T00:00:00Z' }),
        stepStats('convert', { kind: 'transform', from: ['orders'], recordsIn: 1210, recordsOut: 1200, rejected: 10 }),
        stepStats('orders', { kind: 'source', recordsOut: 1210, lastError: `boom ${EVIL}`, errors: 1 }),
      ],
    });
    expect(html.indexOf('id="step-orders"')).toBeLessThan(html.indexOf('id="step-convert"'));
    expect(html.indexOf('id="step-convert"')).toBeLessThan(html.indexOf('id="step-warehouse"'));
    expect(html).toContain('href="/views/revenue"');
    expect(html).toContain('href="/dead-letter?steps=convert"');
    expect(html).toContain('1,210');
    expect(html).not.toContain(EVIL);
    expect(html).toContain('&lt;img src=x onerror=alert(1)>');
    expect(html).toContain('/assets/views/app.css');
    expect(html).not.toContain('app.js'); // no bundle needed: theme.js handles the toggle
  });

  it('renders dead letters with reasons, origin and the record as escaped text, and pages', () => {
    const html = corePages.deadLetters({
      pipeline: 'p', total: 250, steps: ['convert'], offset: 100, limit: 100,
      entries: [{ id: 7, at: '2024-01-01T00:00:00Z', step: 'convert', reasons: ['unknown country', EVIL], origin: 'orders.csv:17', record: { note: '</pre><script>alert(1)</script>' } }],
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
    data: [], statistics: { rows: 0, elapsedMs: 1 },
    meta: { columns: [], filtered, freshness: { steps: ['orders', 'warehouse'], producer: 'warehouse', lastCommitAt: null, watermark: null, rejected: 0, delivered: 0, ...freshness } },
  });

  it('every record rejected upstream', () => {
    expect(emptyReason(empty({ rejected: 1200 }))).toMatchObject({ kind: 'rejected', detail: '1,200 records were sent to dead letters and none reached warehouse.' });
  });
  it('no data yet', () => {
    expect(emptyReason(empty({}, true))).toMatchObject({ kind: 'waiting', detail: 'Waiting for the first commit of warehouse.' });
  });
  it('filtered to zero rows', () => {
    expect(emptyReason(empty({ lastCommitAt: '2024-01-01T00:00:00Z', delivered: 10 }, true))).toMatchObject({ kind: 'filtered', title: 'No rows match the filters' });
  });
  it('just no rows', () => {
    expect(emptyReason(empty({ lastCommitAt: '2024-01-01T00:00:00Z', delivered: 10 }))).toMatchObject({ kind: 'none' });
  });
});

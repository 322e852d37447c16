import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../sdk/types.ts';

/** Prometheus metrics; one registry per pipeline run, served at /metrics. */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();

  counter(name: string, help: string, labels: Record<string, string> = {}) {
    const metric = this.metric(
      this.counters,
      name,
      () => new Counter({ name, help, labelNames: Object.keys(labels), registers: [this.registry] }),
    );
    return { inc: (by = 1) => metric.inc(labels, by) };
  }

  gauge(name: string, help: string, labels: Record<string, string> = {}) {
    const metric = this.metric(
      this.gauges,
      name,
      () => new Gauge({ name, help, labelNames: Object.keys(labels), registers: [this.registry] }),
    );
    return { set: (value: number) => metric.set(labels, value) };
  }

  histogram(name: string, help: string, labels: Record<string, string> = {}) {
    const metric = this.metric(
      this.histograms,
      name,
      () =>
        new Histogram({
          name,
          help,
          labelNames: Object.keys(labels),
          registers: [this.registry],
          buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        }),
    );
    return { observe: (value: number) => metric.observe(labels, value) };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  private metric<M>(map: Map<string, M>, name: string, create: () => M): M {
    let metric = map.get(name);
    if (!metric) map.set(name, (metric = create()));
    return metric;
  }
}

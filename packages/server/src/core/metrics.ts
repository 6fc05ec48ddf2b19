import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';

/**
 * The control plane's Prometheus registry, one per process object (tests run several control
 * planes in one process, so nothing goes in prom-client's global registry). Features add their
 * own metrics through `ctx.metrics`:
 *
 *   ctx.metrics.gauge({ name: 'steward_task_queue_depth', help: '…', async collect() { this.set(await countQueued()) } });
 *
 * Names start with `steward_`; a gauge that needs the store reads it in `collect`, which runs
 * on each scrape.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'steward_' });
  }

  counter<L extends string>(cfg: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...cfg, registers: [this.registry] });
  }

  gauge<L extends string>(cfg: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...cfg, registers: [this.registry] });
  }

  histogram<L extends string>(cfg: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...cfg, registers: [this.registry] });
  }

  /** The Prometheus text exposition of everything registered. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

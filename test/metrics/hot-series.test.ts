import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../src/metrics/hot-series.js';

/** Exposition text as a map from `name{sorted labels}` to value, so label order does not matter. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unexpected exposition line: ${line}`);
    const labels = (match[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',');
    out.set(`${match[1]}{${labels}}`, Number(match[3]));
  }
  return out;
}

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: Array<[string, string, number]> = [
  ['github', 'ok', 0.0004],
  ['github', 'ok', 0.001], // on a bound: counted in that bucket
  ['github', 'ok', 0.05],
  ['github', 'error', 3],
  ['rust', 'ok', 0.2],
];

describe('HotHistogram', () => {
  it('exposes what a prom-client Histogram exposes for the same observations', async () => {
    const reference = new Registry();
    const hot = new Registry();
    const ours = new HotHistogram({ name: 'calls_seconds', help: 'h', labelNames: ['guard', 'outcome'], buckets: BUCKETS, registers: [hot] });
    const theirs = new Histogram({ name: 'calls_seconds', help: 'h', labelNames: ['guard', 'outcome'], buckets: BUCKETS, registers: [reference] });
    for (const [guard, outcome, value] of OBSERVATIONS) {
      ours.labels(guard, outcome).observe(value);
      theirs.observe({ guard, outcome }, value);
    }
    const expected = samples(await reference.metrics());
    expect(samples(await hot.metrics())).toEqual(expected);
    expect(expected.get('calls_seconds_bucket{guard="github",le="0.001",outcome="ok"}')).toBe(2);
    expect(await hot.metrics()).toContain('# TYPE calls_seconds histogram');
  });

  it('keeps one series per label set and drops values that are not finite', () => {
    const histogram = new HotHistogram({ name: 'x_seconds', help: 'h', labelNames: ['guard'], buckets: BUCKETS, registers: [] });
    const series = histogram.labels('github');
    expect(histogram.labels('github')).toBe(series);
    series.observe(Number.NaN);
    series.observe(Number.POSITIVE_INFINITY);
    series.observe(0.5);
    expect(series.count).toBe(1);
    expect(series.sum).toBe(0.5);
  });

  it('refuses a label set of the wrong size, naming the metric and its labels', () => {
    const histogram = new HotHistogram({ name: 'x_seconds', help: 'h', labelNames: ['guard', 'outcome'], buckets: BUCKETS, registers: [] });
    expect(() => histogram.labels('github')).toThrow('x_seconds: 1 label values for labels guard, outcome');
  });

  it('is cleared by the registry reset', async () => {
    const registry = new Registry();
    new HotHistogram({ name: 'x_seconds', help: 'h', labelNames: ['guard'], buckets: BUCKETS, registers: [registry] }).labels('g').observe(1);
    registry.resetMetrics();
    expect(samples(await registry.metrics()).size).toBe(0);
  });
});

describe('HotCounter', () => {
  it('exposes what a prom-client Counter exposes for the same increments', async () => {
    const reference = new Registry();
    const hot = new Registry();
    const ours = new HotCounter({ name: 'decisions_total', help: 'c', labelNames: ['guard', 'decision'], registers: [hot] });
    const theirs = new Counter({ name: 'decisions_total', help: 'c', labelNames: ['guard', 'decision'], registers: [reference] });
    for (const [guard, decision] of [['github', 'allow'], ['github', 'allow'], ['github', 'deny'], ['rust', 'allow']]) {
      ours.labels(guard!, decision!).inc();
      theirs.inc({ guard, decision });
    }
    ours.labels('rust', 'deny').inc(3);
    theirs.inc({ guard: 'rust', decision: 'deny' }, 3);
    expect(samples(await hot.metrics())).toEqual(samples(await reference.metrics()));
    expect(await hot.metrics()).toContain('# TYPE decisions_total counter');
  });
});

/**
 * One bounded load run with autocannon's programmatic API, over 127.0.0.1.
 * Latencies are recorded here from autocannon's per-response timings (float
 * milliseconds; autocannon's own histogram has 1 ms resolution) and split by
 * "kind" when the requests say what they are (request.kind, or context.kind
 * set by setupRequest), so that e.g. healthy requests are counted and timed
 * apart from deliberately failing ones.
 */
import autocannon from 'autocannon';

class Samples {
  #values = new Float64Array(1 << 16);
  count = 0;
  push(v) {
    if (this.count === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.count++] = v;
  }
  summary() {
    const sorted = this.#values.slice(0, this.count).sort();
    const at = (q) => (this.count === 0 ? null : round(sorted[Math.min(this.count - 1, Math.ceil(q * this.count) - 1)]));
    let sum = 0;
    for (const v of sorted) sum += v;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), mean: this.count ? round(sum / this.count) : null };
  }
}

const round = (v, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * options: url (full URL; path used for requests without their own), connections, duration (s),
 * method/body/headers for a single request, or requests (autocannon's array, entries may carry `kind`).
 * Returns per kind: ok (2xx), failed (other statuses), rps (2xx per second), latency of 2xx replies,
 * status counts; and totals (errors = connection errors, timeouts).
 */
export async function load({ url, connections, duration, method = 'POST', body, headers, requests, timeoutS = 10 }) {
  const byKind = new Map();
  const kind = (name) => {
    let k = byKind.get(name);
    if (!k) byKind.set(name, (k = { ok: 0, failed: 0, statuses: {}, latency: new Samples() }));
    return k;
  };
  let pendingKind;
  const overall = new Samples();
  const tracked = requests?.map((r) => {
    if (r.kind === undefined && r.setupRequest === undefined && r.onResponse === undefined) return r;
    return {
      ...r,
      onResponse(status, resBody, context, resHeaders) {
        pendingKind = context.kind ?? r.kind;
        r.onResponse?.(status, resBody, context, resHeaders);
      },
    };
  });
  const started = performance.now();
  const instance = autocannon({
    url,
    connections,
    duration,
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    headers: { 'content-type': 'application/json', ...headers },
    ...(tracked ? { requests: tracked } : {}),
    timeout: timeoutS,
    pipelining: 1,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const k = kind(pendingKind ?? 'all');
    pendingKind = undefined;
    k.statuses[statusCode] = (k.statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) {
      k.ok++;
      k.latency.push(responseTime);
      overall.push(responseTime);
    } else k.failed++;
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const kinds = {};
  for (const [name, k] of byKind) {
    kinds[name] = { ok: k.ok, failed: k.failed, rps: round(k.ok / seconds, 1), statuses: k.statuses, latencyMs: k.latency.summary() };
  }
  const all = [...byKind.values()];
  const ok = all.reduce((n, k) => n + k.ok, 0);
  return {
    connections,
    seconds: round(seconds, 2),
    ok,
    failed: all.reduce((n, k) => n + k.failed, 0),
    errors: result.errors,
    timeouts: result.timeouts,
    rps: round(ok / seconds, 1),
    latencyMs: overall.summary(),
    kinds,
  };
}

/**
 * Runs load against targets, alternating them at each connection count so that
 * machine drift (other processes, thermal, JIT) falls on all of them alike.
 */
import { load } from './load.mjs';
import { machineBusyMs, threadSchedMs } from './proc.mjs';

const MiB = 1024 * 1024;
/** The middle run (the mean of the middle two): one disturbed round moves it less than the mean. */
const median = (xs) => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (v, digits = 3) => (v === null || v === undefined ? v : Math.round(v * 10 ** digits) / 10 ** digits);

/**
 * A target: { name, server ({url, rss()}), path, body | requests }.
 * Samples the server's RSS while the load runs.
 */
export async function measure(target, connections, duration) {
  let rssMax = 0;
  const sample = () => {
    const rss = target.server.rss?.();
    if (rss > rssMax) rssMax = rss;
  };
  const timer = setInterval(sample, 250);
  const cpuBefore = target.server.cpuMs?.();
  const loopBefore = target.server.pid ? threadSchedMs(target.server.pid) : undefined;
  const machineBefore = machineBusyMs();
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  try {
    const result = await load({
      url: target.server.url + (target.path ?? '/'),
      connections,
      duration,
      ...(target.requests ? { requests: target.requests() } : { body: target.body }),
    });
    sample();
    const cpu = target.server.cpuMs?.() - cpuBefore;
    // CPU time of the server process (all its threads) per completed request.
    const served = result.ok + result.failed;
    // What the rest of the machine used meanwhile (other processes than the server and this load generator),
    // in CPUs: a busy machine makes every number of the run noisy.
    const bench = process.cpuUsage(benchBefore);
    const others = machineBusyMs() - machineBefore - cpu - (bench.user + bench.system) / 1000;
    const wall = performance.now() - started;
    // The event loop's thread: the share of the run it was on a CPU, and runnable but waiting for one. Near 100%
    // together means the loop itself is what limits throughput.
    const loopAfter = loopBefore ? threadSchedMs(target.server.pid) : undefined;
    const loop = loopAfter ? { onCpu: (loopAfter.onCpu - loopBefore.onCpu) / wall, waiting: (loopAfter.waiting - loopBefore.waiting) / wall } : undefined;
    return {
      ...result,
      rssMaxMB: rssMax ? round(rssMax / MiB, 1) : undefined,
      cpuUsPerRequest: served && cpu >= 0 ? round((cpu * 1000) / served, 1) : undefined,
      serverCpus: round(cpu / wall, 2),
      otherCpus: Number.isFinite(others) ? round(Math.max(0, others) / wall, 2) : undefined,
      loopOnCpu: loop ? round(loop.onCpu) : undefined,
      loopWaiting: loop ? round(loop.waiting) : undefined,
    };
  } finally {
    clearInterval(timer);
  }
}

/** Median of the runs of one target at one connection count (each run is kept in `runs`). */
function combine(runs) {
  const pick = (f) => round(median(runs.map(f).filter((v) => v !== null && v !== undefined)));
  const kindNames = [...new Set(runs.flatMap((r) => Object.keys(r.kinds)))];
  const kinds = Object.fromEntries(
    kindNames.map((k) => [
      k,
      {
        ok: runs.reduce((n, r) => n + (r.kinds[k]?.ok ?? 0), 0),
        failed: runs.reduce((n, r) => n + (r.kinds[k]?.failed ?? 0), 0),
        rps: pick((r) => r.kinds[k]?.rps),
        p50: pick((r) => r.kinds[k]?.latencyMs.p50),
        p99: pick((r) => r.kinds[k]?.latencyMs.p99),
        statuses: runs.reduce((acc, r) => {
          for (const [s, n] of Object.entries(r.kinds[k]?.statuses ?? {})) acc[s] = (acc[s] ?? 0) + n;
          return acc;
        }, {}),
      },
    ]),
  );
  return {
    rps: round(median(runs.map((r) => r.rps)), 1),
    p50: pick((r) => r.latencyMs.p50),
    p99: pick((r) => r.latencyMs.p99),
    ok: runs.reduce((n, r) => n + r.ok, 0),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
    rssMaxMB: runs.some((r) => r.rssMaxMB) ? Math.max(...runs.map((r) => r.rssMaxMB ?? 0)) : undefined,
    cpuUsPerRequest: pick((r) => r.cpuUsPerRequest),
    serverCpus: pick((r) => r.serverCpus),
    otherCpus: pick((r) => r.otherCpus),
    loopOnCpu: pick((r) => r.loopOnCpu),
    loopWaiting: pick((r) => r.loopWaiting),
    kinds,
    runs: runs.map((r) => ({
      rps: r.rps,
      p50: r.latencyMs.p50,
      p99: r.latencyMs.p99,
      seconds: r.seconds,
      cpuUsPerRequest: r.cpuUsPerRequest,
      otherCpus: r.otherCpus,
      loopOnCpu: r.loopOnCpu,
      loopWaiting: r.loopWaiting,
      kindRps: Object.fromEntries(Object.entries(r.kinds).map(([k, v]) => [k, v.rps])),
    })),
  };
}

/**
 * For each connection count: warm every target once (first count only), then
 * run targets in turn, `rounds` times (A B A B ...). Returns one row per
 * target and connection count; rows get ratios to the target named `floor`
 * when there is one.
 */
export async function alternate(ctx, { scenario, targets, connections = ctx.opts.connections, rounds = 1, floor = 'floor' }) {
  const rows = [];
  if (ctx.opts.warmup > 0) {
    for (const t of targets) await measure(t, Math.max(...connections), ctx.opts.warmup);
  }
  for (const c of connections) {
    const runs = new Map(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const r = await measure(t, c, ctx.opts.duration);
        runs.get(t.name).push(r);
        ctx.log(`  ${scenario.padEnd(10)} ${t.name.padEnd(16)} c=${String(c).padStart(3)}  ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  cpu ${r.cpuUsPerRequest} µs/req  others ${r.otherCpus} cpus${r.failed ? `  non-2xx ${r.failed}` : ''}${r.errors + r.timeouts ? `  errors ${r.errors + r.timeouts}` : ''}`);
      }
    }
    const combined = targets.map((t) => ({ scenario, target: t.name, label: t.label ?? t.name, connections: c, ...combine(runs.get(t.name)) }));
    const base = combined.find((r) => r.target === floor);
    for (const row of combined) {
      if (base && row !== base) {
        // Also round by round (each run against the floor's run of the same round): the spread shows the noise.
        const byRound = (f) => row.runs.map((r, i) => round(f(r) / f(base.runs[i])));
        row.vsFloor = {
          rps: round(row.rps / base.rps),
          p99: round(row.p99 / base.p99),
          rpsByRound: byRound((r) => r.rps),
          p99ByRound: byRound((r) => r.p99),
        };
      }
      rows.push(row);
    }
  }
  return rows;
}

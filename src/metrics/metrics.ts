import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CompilationCache } from '../guard/index.js';
import { HotCounter, HotHistogram, type HistogramSeries } from './hot-series.js';
import { WorkerHost, type PoolObserver } from '../pool/index.js';
import type { GuardRegistry } from '../runtime/guard-registry.js';
import type { ReloadObserver } from '../runtime/reload.js';
import type { SessionStore, SessionStoreObserver } from '../session/store.js';

const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Every metric of docs/contract.md §6. Label values are only guard names,
 * function names, route patterns and fixed enums: never tool names or other
 * request data, so cardinality stays bounded whatever clients send.
 */
export class Metrics {
  readonly registry = new Registry();

  // Recorded on every request: see hot-series.ts for why these four are not prom-client's own types.
  readonly decisions = new HotCounter({
    name: 'wasmguard_decisions_total',
    help: 'Decisions made, by guard, operation, decision and mode',
    labelNames: ['guard', 'operation', 'decision', 'mode', 'stage'] as const,
    registers: [this.registry],
  });

  readonly guardCallDuration = new HotHistogram({
    name: 'wasmguard_guard_call_duration_seconds',
    help: 'Duration of guard calls through the pool, including queueing in the worker channel',
    labelNames: ['guard', 'function', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly regrowths = new Counter({
    name: 'wasmguard_buffer_regrowths_total',
    help: 'Output buffer regrowths after a guard returned -2, by guard, function and kind (hinted or doubled)',
    labelNames: ['guard', 'function', 'kind'] as const,
    registers: [this.registry],
  });

  readonly traps = new Counter({
    name: 'wasmguard_traps_total',
    help: 'Guard instances stopped by a trap, by guard, function and kind',
    labelNames: ['guard', 'function', 'kind'] as const,
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: 'wasmguard_instance_evictions_total',
    help: 'Guard instances evicted from their pool, by reason',
    labelNames: ['guard', 'reason'] as const,
    registers: [this.registry],
  });

  readonly replacements = new Counter({
    name: 'wasmguard_instance_replacements_total',
    help: 'Guard instances started to replace evicted ones, by reason',
    labelNames: ['guard', 'reason'] as const,
    registers: [this.registry],
  });

  readonly rejections = new Counter({
    name: 'wasmguard_pool_rejections_total',
    help: 'Guard calls refused by the pool, by reason (queue_full, wait_timeout, unavailable, closed)',
    labelNames: ['guard', 'reason'] as const,
    registers: [this.registry],
  });

  readonly queueWait = new HotHistogram({
    name: 'wasmguard_queue_wait_seconds',
    help: 'Time guard calls waited for a free instance',
    labelNames: ['guard'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'wasmguard_guard_batch_size',
    help: 'Guard calls handed to a worker together (calls that waited for an instance go over in one batch)',
    labelNames: ['guard'] as const,
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });

  readonly backendCalls = new Counter({
    name: 'wasmguard_backend_calls_total',
    help: 'call_backend requests by guard, backend and outcome',
    labelNames: ['guard', 'backend', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly backendDuration = new Histogram({
    name: 'wasmguard_backend_call_duration_seconds',
    help: 'Duration of backend calls made for guards',
    labelNames: ['guard', 'backend'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly httpDuration = new HotHistogram({
    name: 'wasmguard_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly compileDuration = new Histogram({
    name: 'wasmguard_compile_duration_seconds',
    help: 'WebAssembly compilation time of guard modules (cache misses)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'wasmguard_compilation_cache_lookups_total',
    help: 'Compilation cache lookups by result (hit or miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly sessionsCreated = new Counter({
    name: 'wasmguard_sessions_created_total',
    help: 'Sessions created',
    registers: [this.registry],
  });

  readonly sessionsExpired = new Counter({
    name: 'wasmguard_sessions_expired_total',
    help: 'Sessions found past their idle TTL by a call, and dropped (memory store; Redis expires keys on its own and does not tell)',
    registers: [this.registry],
  });

  readonly sessionsEvicted = new Counter({
    name: 'wasmguard_sessions_evicted_total',
    help: 'Sessions evicted by the memory store because it held WASMGUARD_SESSION_MAX (least recently used first)',
    registers: [this.registry],
  });

  // Observed on every session call (two per /v1/evaluate with a session): a hot series, see hot-series.ts.
  readonly sessionStoreDuration = new HotHistogram({
    name: 'wasmguard_session_store_duration_seconds',
    help: 'Duration of session store calls, by operation',
    labelNames: ['store', 'op'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly sessionStoreErrors = new Counter({
    name: 'wasmguard_session_store_errors_total',
    help: 'Session store calls that failed (store unreachable or past its deadline), by operation',
    labelNames: ['store', 'op'] as const,
    registers: [this.registry],
  });

  readonly guardReloads = new Counter({
    name: 'wasmguard_guard_reloads_total',
    help: 'Guards considered by a reload, by guard and result (added, updated, unchanged, removed, failed)',
    labelNames: ['guard', 'result'] as const,
    registers: [this.registry],
  });

  readonly workerThreads = new Gauge({
    name: 'wasmguard_worker_threads',
    help: 'Guard worker threads alive, in every pool (serving, or draining after a reload)',
    registers: [this.registry],
    collect() {
      this.set(WorkerHost.live);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Pool state is read at scrape time rather than tracked on every transition. */
  watchPools(guards: GuardRegistry): void {
    new Gauge({
      name: 'wasmguard_pool_instances',
      help: 'Guard instances by state (idle, busy, starting, poisoned)',
      labelNames: ['guard', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const g of guards.list()) {
          for (const [state, n] of Object.entries(g.pool.state().instances)) this.set({ guard: g.name, state }, n);
        }
      },
    });
    new Gauge({
      name: 'wasmguard_queue_length',
      help: 'Guard calls waiting for a free instance',
      labelNames: ['guard'] as const,
      registers: [this.registry],
      collect() {
        for (const g of guards.list()) this.set({ guard: g.name }, g.pool.state().queueLength);
      },
    });
    new Gauge({
      name: 'wasmguard_guard_healthy',
      help: '1 when the guard has live instances or is recovering, 0 when it keeps failing',
      labelNames: ['guard'] as const,
      registers: [this.registry],
      collect() {
        for (const g of guards.list()) this.set({ guard: g.name }, g.pool.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wasmguard_guard_versions_draining',
      help: 'Guard versions replaced or removed by a reload whose pools are still finishing their calls',
      registers: [this.registry],
      collect() {
        this.set(guards.retiring().length);
      },
    });
  }

  /** What the session store reports, as metrics. */
  sessionObserver(store: 'memory' | 'redis'): SessionStoreObserver {
    // Each operation's series, looked up once: ops are a handful of fixed names. Filled on first use, so
    // /metrics shows only the operations that ran, as before.
    const durations = new Map<string, HistogramSeries>();
    return {
      expired: (n) => this.sessionsExpired.inc(n),
      evicted: (n) => this.sessionsEvicted.inc(n),
      call: (op, seconds, ok) => {
        let series = durations.get(op);
        if (!series) durations.set(op, (series = this.sessionStoreDuration.labels(store, op)));
        series.observe(seconds);
        if (!ok) this.sessionStoreErrors.inc({ store, op });
      },
    };
  }

  /** Live sessions and store reachability, read at scrape time. */
  watchSessionStore(sessions: SessionStore): void {
    new Gauge({
      name: 'wasmguard_sessions_live',
      help: 'Sessions held by the store (memory: idle past their TTL included until a call meets them or they are evicted; Redis: counted with a bounded SCAN of wasmguard:session:* keys; the last count while the store cannot be reached)',
      registers: [this.registry],
      async collect() {
        const live = await sessions.live();
        if (live !== undefined) this.set(live);
      },
    });
    new Gauge({
      name: 'wasmguard_session_store_up',
      help: '1 when the session store answers, 0 when session calls fail with 503',
      labelNames: ['store'] as const,
      registers: [this.registry],
      collect() {
        this.set({ store: sessions.kind }, sessions.available ? 1 : 0);
      },
    });
  }

  /** Tool results being checked, and those waiting with their bodies unread (http/result-admission.ts). */
  watchResultAdmission(budget: { readonly inFlight: number; readonly waiting: number }): void {
    new Gauge({
      name: 'wasmguard_result_bytes_in_flight',
      help: 'Bytes of /v1/evaluate/response bodies admitted and not yet answered (bounded by WASMGUARD_RESULT_BYTES_IN_FLIGHT)',
      registers: [this.registry],
      collect() {
        this.set(budget.inFlight);
      },
    });
    new Gauge({
      name: 'wasmguard_result_checks_waiting',
      help: '/v1/evaluate/response requests waiting, body unread, for the results in flight to fall under the budget',
      registers: [this.registry],
      collect() {
        this.set(budget.waiting);
      },
    });
  }

  /** `wasmguard_log_lines_dropped_total`: log lines the bounded log buffer had no room for. */
  watchLogDrops(dropped: () => number): void {
    new Counter({
      name: 'wasmguard_log_lines_dropped_total',
      help: 'Log lines dropped because the log buffer was full (stdout not read fast enough)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(dropped());
      },
    });
  }

  watchCompilationCache(cache: CompilationCache): void {
    new Gauge({
      name: 'wasmguard_compilation_cache_modules',
      help: 'Compiled guard modules held by the compilation cache (a module leaves when its last pool closes)',
      registers: [this.registry],
      collect() {
        this.set(cache.stats().entries);
      },
    });
    cache.onCompile(({ hit, compileMs }) => {
      this.cacheLookups.inc({ result: hit ? 'hit' : 'miss' });
      if (!hit) this.compileDuration.observe(compileMs / 1000);
    });
  }

  /** What a reload reports, as `wasmguard_guard_reloads_total`. */
  reloadObserver(): ReloadObserver {
    return { guardReloaded: (guard, result) => this.guardReloads.inc({ guard, result }) };
  }

  poolObserver(): PoolObserver {
    return {
      callDuration: (guard, fn, seconds, outcome) => this.guardCallDuration.labels(guard, fn, outcome).observe(seconds),
      queueWait: (guard, seconds) => this.queueWait.labels(guard).observe(seconds),
      batch: (guard, size) => this.batchSize.observe({ guard }, size),
      trap: (guard, fn, kind) => this.traps.inc({ guard, function: fn, kind }),
      regrowth: (guard, fn, how, count) => this.regrowths.inc({ guard, function: fn, kind: how }, count),
      eviction: (guard, reason) => this.evictions.inc({ guard, reason }),
      replacement: (guard, reason) => this.replacements.inc({ guard, reason }),
      rejected: (guard, reason) => this.rejections.inc({ guard, reason }),
    };
  }
}

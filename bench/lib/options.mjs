/**
 * Bench settings, from the environment (all optional):
 *   BENCH_DURATION      seconds per measured run (5)
 *   BENCH_WARMUP        seconds of warm-up of each target before a scenario's first run (2)
 *   BENCH_CONNECTIONS   connection counts, comma-separated (1,16,64)
 *   BENCH_SCENARIOS     scenarios to run, comma-separated (all); see bench/run.mjs
 *   BENCH_ROUNDS        floor/service alternations per connection count for /v1/evaluate (2)
 *   BENCH_STARTUP_RUNS  service starts for the startup-time scenario (5)
 *   BENCH_CPU_PROF      1: run the service under node --cpu-prof, profiles kept in the run's temp dir
 *   BENCH_OUT           results folder (bench/results)
 *   BENCH_ANY_NODE      1: run on a Node line CI does not test (refused otherwise; bench/lib/node-line.mjs)
 */
import { fileURLToPath } from 'node:url';

function number(env, name, fallback, { min = 0 } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function list(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

export function readOptions(env = process.env) {
  const connections = list(env, 'BENCH_CONNECTIONS', ['1', '16', '64']).map(Number);
  if (connections.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('BENCH_CONNECTIONS must be positive integers');
  return {
    duration: number(env, 'BENCH_DURATION', 5, { min: 0.5 }),
    warmup: number(env, 'BENCH_WARMUP', 2),
    connections,
    scenarios: list(env, 'BENCH_SCENARIOS', undefined),
    rounds: Math.max(1, Math.round(number(env, 'BENCH_ROUNDS', 2, { min: 1 }))),
    startupRuns: Math.max(1, Math.round(number(env, 'BENCH_STARTUP_RUNS', 5, { min: 1 }))),
    cpuProf: env.BENCH_CPU_PROF === '1',
    anyNode: env.BENCH_ANY_NODE === '1',
    out: env.BENCH_OUT || fileURLToPath(new URL('../results', import.meta.url)),
  };
}

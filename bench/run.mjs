#!/usr/bin/env node
/**
 * `npm run bench`: the service against its own physical limit (issue 8).
 *
 * Starts, each as its own process: the real service (node dist/server.js,
 * WASMGUARD_PORT=0, the default log level info, a config file in a temp dir), the floor
 * (bare Fastify, one JSON POST route with a fixed decision-sized body, and the
 * echo route the response rows are judged against) and the
 * naive baseline (a route that instantiates the guard per request on the event
 * loop) and the service's own HTTP layer with a fixed decision and no guard
 * (how fast the service could be with a free guard runtime). Loads them with autocannon over 127.0.0.1, alternating targets at each
 * connection count, and writes bench/results/latest.{json,md}.
 *
 * Scenarios (BENCH_SCENARIOS selects, in this order): startup, memory, evaluate,
 * sensitivity, response, flow, cpu, trap, sessions, batch. Settings: see bench/lib/options.mjs.
 * Needs a build first (npm run bench does it).
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './lib/child.mjs';
import { postJson } from './lib/http.mjs';
import { readOptions } from './lib/options.mjs';
import { GITHUB_POLICY, RUST_POLICY } from './lib/payloads.mjs';
import { checkNodeLine } from './lib/node-line.mjs';
import { judgeTargets, machineInfo, writeResults } from './lib/report.mjs';
import { alternate } from './lib/runner.mjs';
import { REPO_ROOT, SERVICE_ENV, SERVICE_NODE_FLAGS, guardPools, startService } from './lib/service-process.mjs';
import { FREE_GUARD_WAT, inThreadCallMs, watSourceToWasm, watToWasm } from './lib/wat.mjs';
import * as batch from './scenarios/batch.mjs';
import * as cpu from './scenarios/cpu.mjs';
import * as evaluate from './scenarios/evaluate.mjs';
import * as flow from './scenarios/flow.mjs';
import * as memoryScenario from './scenarios/memory.mjs';
import * as response from './scenarios/response.mjs';
import * as sensitivity from './scenarios/sensitivity.mjs';
import * as sessions from './scenarios/sessions.mjs';
import * as startup from './scenarios/startup.mjs';
import * as trap from './scenarios/trap.mjs';

const SCENARIOS = [startup, memoryScenario, evaluate, sensitivity, response, flow, cpu, trap, sessions, batch];
const MiB = 1024 * 1024;
/** The bench's own servers, and the service run apart with a guard that does no work, measured for comparison: not rows of the service. */
const BASELINES = ['floor', 'http-layer', 'ceiling', 'ceiling-free', 'service-free', 'naive', ...sensitivity.WORK_US.map((us) => `floor+${us}us`)];

const opts = readOptions();
const log = (msg) => process.stdout.write(`${msg}\n`);
const selected = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.name));
if (opts.scenarios) {
  const unknown = opts.scenarios.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
}

const nodeLine = checkNodeLine(process.version, REPO_ROOT);
if (nodeLine.refusal && !opts.anyNode) {
  process.stderr.write(`wasmguard bench: ${nodeLine.refusal}\n`);
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), 'wasmguard-bench-'));
const machine = { ...machineInfo(), nodeLine: nodeLine.note ?? `not a supported line: ${nodeLine.refusal}` };
log(`wasmguard bench: ${machine.cpus} cpus, node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}; temp dir ${tmp}`);
if (machine.loadAverageAtStart[0] > machine.cpus) log(`warning: load average ${machine.loadAverageAtStart[0]} on ${machine.cpus} CPUs: other work may disturb the numbers (each run reports what other processes used)`);

// The CPU-heavy guard, compiled from WAT for this run.
const spinWasm = await watToWasm(join(REPO_ROOT, 'bench/guards/spin.wat'));
const spinPath = join(tmp, 'spin.wasm');
writeFileSync(spinPath, spinWasm);
const spinCallMs = inThreadCallMs(spinWasm);

const RUST_GUARD = join(REPO_ROOT, 'test/fixtures/rust-guard/rust_guard.wasm');
const guards = {
  github: { path: join(REPO_ROOT, 'guards/github.wasm'), policy: GITHUB_POLICY, mode: 'filter' },
  rust: { path: RUST_GUARD, policy: RUST_POLICY },
  // The trap scenario's second pair: the same guard, its fresh instances growing by 64 KiB instead of 4 MiB.
  'rust-64k': { path: RUST_GUARD, policy: RUST_POLICY, limits: { initialOutputBytes: 64 * 1024 } },
  spin1: { path: spinPath, poolSize: 1 },
  spin2: { path: spinPath, poolSize: 2 },
};
const configPath = join(tmp, 'wasmguard.json');
writeFileSync(configPath, JSON.stringify({ guards }, null, 2));

const results = { date: new Date().toISOString(), machine, options: { ...opts, out: undefined, serviceNodeFlags: SERVICE_NODE_FLAGS, serviceEnv: SERVICE_ENV }, scenarios: {}, notes: [] };
const processes = [];
try {
  if (selected.includes(startup)) {
    log('startup');
    results.scenarios.startup = await startup.run({ opts, log, tmp });
  }
  const loadScenarios = selected.filter((s) => s !== startup);
  if (loadScenarios.length) {
    const floor = await startChild(join(REPO_ROOT, 'bench/lib/floor-server.mjs'), [], { logFile: join(tmp, 'floor.log') });
    processes.push(floor);
    const naive = await startChild(
      join(REPO_ROOT, 'bench/lib/naive-server.mjs'),
      [guards.github.path, JSON.stringify(GITHUB_POLICY), guards.github.mode],
      { logFile: join(tmp, 'naive.log') },
    );
    processes.push(naive);
    // The service's own HTTP layer runs with the service's node flags and environment.
    const httpLayer = await startChild(join(REPO_ROOT, 'bench/lib/http-layer-server.mjs'), [], {
      logFile: join(tmp, 'http-layer.log'),
      nodeArgs: SERVICE_NODE_FLAGS,
      env: SERVICE_ENV,
    });
    processes.push(httpLayer);
    const service = await startService({ config: configPath, logFile: join(tmp, 'service.log'), cpuProfDir: opts.cpuProf ? join(tmp, 'cpu-prof') : undefined });
    processes.push(service);
    log(`service pid ${service.pid} on ${service.url} (ready in ${Math.round(service.readyMs)} ms), floor ${floor.url}, naive ${naive.url}`);
    // The response rows' ceilings and the service with a guard that does no work (that scenario only): as many guard workers as the service's pool for the github guard holds.
    const ceilings = {};
    if (selected.includes(response)) {
      const { guards: served } = await (await fetch(`${service.url}/v1/guards`)).json();
      const workers = String(served.find((g) => g.name === 'github')?.pool?.size ?? 1);
      const startCeiling = async (name, guardArgs) => {
        const server = await startChild(join(REPO_ROOT, 'bench/lib/guard-ceiling-server.mjs'), [...guardArgs, workers], {
          logFile: join(tmp, `${name}.log`),
          nodeArgs: SERVICE_NODE_FLAGS,
          env: SERVICE_ENV,
        });
        processes.push(server);
        return server;
      };
      ceilings.guardCeiling = await startCeiling('guard-ceiling', [guards.github.path, JSON.stringify(GITHUB_POLICY)]);
      ceilings.freeGuardCeiling = await startCeiling('guard-ceiling-free', ['free', '{}']);
      // The service itself, with only that guard: what its own steps leave of the echo floor when the guard costs nothing.
      const freePath = join(tmp, 'free.wasm');
      writeFileSync(freePath, await watSourceToWasm('free.wat', FREE_GUARD_WAT));
      const freeConfig = join(tmp, 'wasmguard-free.json');
      writeFileSync(freeConfig, JSON.stringify({ guards: { free: { path: freePath, mode: 'filter' } } }));
      ceilings.freeGuardService = await startService({ config: freeConfig, logFile: join(tmp, 'service-free.log') });
      processes.push(ceilings.freeGuardService);
    }

    await new Promise((r) => setTimeout(r, 500)); // the warm workers settle
    const memory = {
      idleMB: service.rss() / MiB,
      ...(await guardPools(service.url)),
      floorIdleMB: floor.rss() / MiB,
    };
    const ctx = {
      opts,
      log,
      tmp,
      configPath,
      floor,
      naive,
      httpLayer,
      ...ceilings,
      service,
      spinCallMs,
      rustGuard: RUST_GUARD,
      cpus: machine.cpus,
      post: (path, body) => postJson(service.url + path, body),
      alternate: (spec) => alternate(ctx, spec),
    };
    for (const scenario of loadScenarios) {
      log(scenario.name);
      results.scenarios[scenario.name] = await scenario.run(ctx);
    }
    const serviceRows = Object.values(results.scenarios).flatMap((s) => s.rows ?? []).filter((r) => !BASELINES.includes(r.target));
    const floorRows = Object.values(results.scenarios).flatMap((s) => s.rows ?? []).filter((r) => r.target === 'floor');
    memory.loadMaxMB = Math.max(0, ...serviceRows.map((r) => r.rssMaxMB ?? 0));
    const scenarioMaxMB = (name) => Math.max(0, ...serviceRows.filter((r) => r.scenario === name).map((r) => r.rssMaxMB ?? 0));
    memory.evaluateLoadMaxMB = scenarioMaxMB('evaluate');
    memory.responseLoadMaxMB = scenarioMaxMB('response');
    memory.floorLoadMaxMB = Math.max(0, ...floorRows.map((r) => r.rssMaxMB ?? 0));
    memory.afterMB = service.rss() / MiB;
    results.memory = Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, typeof v === 'number' && k.endsWith('MB') ? Math.round(v * 10) / 10 : v]));
    // The service logs at info (a decision line per request): count what it logged at warn and above.
    // Read line by line: a long run logs more than the longest string V8 can hold (hundreds of MB).
    let warnings = 0;
    for await (const line of createInterface({ input: createReadStream(service.logFile), crlfDelay: Infinity })) {
      if (/"level":(?:[4-9]\d)\b/.test(line)) warnings++;
    }
    results.notes.push(`service log lines at warn level and above during the run: ${warnings} (each trap logs an eviction and a failed request)`);
  }
} finally {
  await Promise.all(processes.map((p) => p.stop()));
}

const disturbed = Object.values(results.scenarios)
  .flatMap((sc) => sc.rows ?? [])
  .filter((r) => r.otherCpus >= 0.25)
  .map((r) => `${r.scenario}/${r.target}/c=${r.connections}`);
if (disturbed.length) {
  results.notes.push(`other processes used a quarter of a CPU or more during: ${disturbed.join(', ')}; rerun on a quiet machine before trusting those rows`);
}

results.targets = judgeTargets(results);
writeResults(opts.out, results);
log('');
for (const t of results.targets) log(`${t.met ? 'met   ' : 'MISSED'}  ${t.name}: ${t.measured}${t.byRound ? ` (rounds ${t.byRound.join(', ')})` : ''} (required ${t.threshold})`);
if (disturbed.length) log(`warning: the machine was busy with other work during ${disturbed.length} rows (see the notes in latest.md)`);
log(`results: ${join(opts.out, 'latest.md')}`);
if (opts.cpuProf) log(`cpu profiles kept in ${join(tmp, 'cpu-prof')}`);
else rmSync(tmp, { recursive: true, force: true });

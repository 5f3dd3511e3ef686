/** Machine information, the targets of issue 8, and the JSON and Markdown result files. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function machineInfo() {
  const cpus = os.cpus();
  let fastify;
  let autocannon;
  try {
    fastify = JSON.parse(readFileSync(new URL('../../node_modules/fastify/package.json', import.meta.url), 'utf8')).version;
    autocannon = JSON.parse(readFileSync(new URL('../../node_modules/autocannon/package.json', import.meta.url), 'utf8')).version;
  } catch {
    // not installed where expected
  }
  return {
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model,
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fastify,
    autocannon,
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** The targets of issue 8, judged on this run's numbers. */
export function judgeTargets(results) {
  const targets = [];
  const evaluate = results.scenarios.evaluate?.rows ?? [];
  const c = Math.max(...evaluate.map((r) => r.connections), 0);
  const service = evaluate.find((r) => r.target === 'service' && r.connections === 64) ?? evaluate.find((r) => r.target === 'service' && r.connections === c);
  if (service?.vsFloor) {
    targets.push({
      name: `/v1/evaluate throughput at ${service.connections} connections, vs the floor`,
      measured: service.vsFloor.rps,
      byRound: service.vsFloor.rpsByRound,
      threshold: '>= 0.70',
      met: service.vsFloor.rps >= 0.7,
    });
    targets.push({
      name: `/v1/evaluate p99 at ${service.connections} connections, vs the floor`,
      measured: service.vsFloor.p99,
      byRound: service.vsFloor.p99ByRound,
      threshold: '<= 2.0',
      met: service.vsFloor.p99 <= 2,
    });
  }
  // Issue 20: the same ratios with the decision log on (the service runs at its default level).
  const evaluate64 = evaluate.find((r) => r.target === 'service' && r.connections === 64);
  if (evaluate64?.vsFloor) {
    targets.push(ratioTarget(`/v1/evaluate throughput at 64 connections, vs the floor, decision log at info`, evaluate64.vsFloor, 'rps', '>= 0.75', (v) => v >= 0.75));
    targets.push(ratioTarget(`/v1/evaluate p99 at 64 connections, vs the floor, decision log at info`, evaluate64.vsFloor, 'p99', '<= 1.5', (v) => v <= 1.5));
  }
  const response = results.scenarios.response;
  for (const row of response?.rows ?? []) {
    if (row.target !== 'service' || row.items !== response.info?.items || !row.vsFloor || ![16, 64].includes(row.connections)) continue;
    targets.push(ratioTarget(`/v1/evaluate/response, ${row.items} items, throughput at ${row.connections} connections, vs the echo floor`, row.vsFloor, 'rps', '>= 0.6', (v) => v >= 0.6));
    targets.push(ratioTarget(`/v1/evaluate/response, ${row.items} items, p99 at ${row.connections} connections, vs the echo floor`, row.vsFloor, 'p99', '<= 2.0', (v) => v <= 2));
  }
  const memory = results.scenarios.memory?.info;
  if (memory) {
    targets.push({ name: 'RSS idle, default config and pool sizes', measured: `${memory.idleMB} MB`, threshold: '<= 150 MB', met: memory.idleMB <= 150 });
    const responseMax = Math.max(0, ...memory.underLoad.filter((l) => l.what === 'response').map((l) => l.rssMaxMB ?? 0));
    targets.push({ name: 'RSS under /v1/evaluate/response load, default config and pool sizes', measured: `${responseMax} MB`, threshold: '<= 250 MB', met: responseMax <= 250 });
  }
  const trap = results.scenarios.trap?.info;
  if (trap) {
    targets.push({
      name: `healthy throughput with 1% trapping requests, vs no traps (${trap.connections} connections)`,
      measured: trap.healthyRatio,
      byRound: trap.healthyRatioByRound,
      threshold: '>= 0.90',
      met: trap.healthyRatio >= 0.9,
    });
    targets.push({
      name: 'healthy requests failed with 1% trapping requests',
      measured: trap.healthyFailed + trap.connectionErrors,
      threshold: '= 0',
      met: trap.healthyFailed + trap.connectionErrors === 0,
    });
  }
  const startup = results.scenarios.startup?.info;
  if (startup) {
    targets.push({
      name: `ready (/readyz 200) from process spawn, median of ${startup.runs.length}`,
      measured: `${startup.medianReadyMs} ms`,
      threshold: '< 1000 ms',
      met: startup.medianReadyMs < 1000,
    });
  }
  return targets;
}

function ratioTarget(name, vsFloor, key, threshold, met) {
  const measured = vsFloor[key];
  return { name, measured, byRound: vsFloor[`${key}ByRound`], threshold, met: met(measured) };
}

const fmt = (v, digits = 2) => (v === null || v === undefined ? '—' : typeof v === 'number' ? String(Math.round(v * 10 ** digits) / 10 ** digits) : String(v));

function rowNotes(row) {
  const out = [];
  if (row.flowsPerSecond !== undefined) out.push(`${fmt(row.flowsPerSecond, 0)} flows/s`);
  if (row.kinds?.healthy) out.push(`healthy ${fmt(row.kinds.healthy.rps, 0)} req/s, p99 ${fmt(row.kinds.healthy.p99)} ms`);
  if (row.kinds?.trap) out.push(`${row.kinds.trap.failed} trapped (${Object.entries(row.kinds.trap.statuses).map(([s, n]) => `${n}×${s}`).join(', ')})`);
  else if (row.failed) out.push(`${row.failed} non-2xx`);
  if (row.errors) out.push(`${row.errors} connection errors/timeouts`);
  if (row.rssMaxMB) out.push(`RSS ≤ ${fmt(row.rssMaxMB, 0)} MB`);
  if (row.loopOnCpu !== undefined && row.loopOnCpu !== null) out.push(`event loop ${loopShare(row)}`);
  if (row.otherCpus >= 0.1) out.push(`other processes busy: ${fmt(row.otherCpus)} CPUs`);
  return out.join('; ');
}

const percent = (v) => `${Math.round(v * 100)}%`;
/** How the event loop's thread spent the run: on a CPU, and runnable but waiting for one. */
const loopShare = (row) => `on CPU ${percent(row.loopOnCpu)}, waiting for a CPU ${percent(row.loopWaiting)}`;

/** Event loop time per request, in µs: what a server that its event loop limits spends of its one thread on each request. */
const loopUs = (layer) => (layer.loopOnCpu * 1e6) / layer.rps;

function loopSentence({ floor, http, service }) {
  const layers = [['floor', floor], ['HTTP layer', http], ['service', service]];
  const shares = layers.map(([name, l]) => `${name} ${loopShare(l)} (${fmt(loopUs(l), 1)} µs of event loop per request)`).join('; ');
  const saturated = layers.every(([, l]) => l.loopOnCpu + l.loopWaiting >= 0.9);
  return (
    ` The event loop thread of each: ${shares}.` +
    (saturated
      ? ' Each event loop was busy or waiting for a CPU nearly all the run: it is what limits each server, so the ratio to the floor is about the ratio of their event loop times per request; the guard workers run beside it.'
      : '')
  );
}

/** What a trap costs the guard runtime alone (bench/lib/instance-lifecycle.mjs), and the ceiling that puts on the trap ratio. */
function trapCostSentence(cost, bestRatio, cpus) {
  const gcs = cost.instancesPerMajorGc ? `, and the worker ran a mark-compact every ${fmt(cost.instancesPerMajorGc, 1)} fresh instances to reclaim them` : '';
  return (
    `What a trap costs the guard runtime alone, in a worker thread with no pool and no HTTP (a fresh GuardInstance given the policy, ` +
    `${cost.every - 1} healthy calls and the trapping one, against the same calls on one instance that never traps): ${cost.cpuMsPerTrap} ms of CPU ` +
    `(a fresh instance with nothing between: ${cost.cpuMsPerInstanceAlone} ms). Each fresh instance's memory ends at ${fmt(cost.memoryBytes / 1e6, 1)} MB${gcs}. ` +
    `So even with all ${cpus} CPUs serving requests, and a trap costing nothing beyond that, the service could not pass a ratio of **${bestRatio}** here`
  );
}

/** The busy work of a sensitivity row (target `floor+<N>us`), in µs. */
const workUsOf = (row) => Number(row.target.slice('floor+'.length, -'us'.length));

/** The sensitivity scenario: the floor with a few µs of busy work per request, against the floor and the service. */
function sensitivityParagraph(rows) {
  const floor = rows.find((r) => r.target === 'floor');
  const busy = rows.filter((r) => r.target.startsWith('floor+') && r.vsFloor);
  const service = rows.find((r) => r.target === 'service' && r.vsFloor);
  if (!floor || busy.length === 0 || !service) return undefined;
  const hasLoop = [floor, ...busy, service].every((r) => r.loopOnCpu !== undefined && r.loopOnCpu !== null);
  const loop = (r) => (hasLoop ? ` (${fmt(loopUs(r), 1)} µs of event loop per request${r === floor ? '' : `, ${fmt(loopUs(r) - loopUs(floor), 1)} more`})` : '');
  const work = busy.map((r) => `with ${workUsOf(r)} µs of busy work added to its route, ${fmt(r.vsFloor.rps, 3)} of that${loop(r)}`);
  const largest = busy.at(-1);
  const largestUs = workUsOf(largest);
  const grew = hasLoop ? loopUs(largest) - loopUs(floor) : undefined;
  return (
    `At ${floor.connections} connections the floor serves ${fmt(floor.rps, 0)} req/s${loop(floor)}; ${work.join('; ')}. ` +
    `The service, in the same alternation, serves ${fmt(service.vsFloor.rps, 3)} of the floor${loop(service)}: where it falls between these rows ` +
    'says how much work per request it adds, as this machine counts it.' +
    (grew !== undefined && grew > largestUs
      ? ` With ${largestUs} µs of work the event loop's time per request grew by ${fmt(grew, 1)} µs, more than the work itself (in CPU profiles the extra is ` +
        'mostly in the kernel, in the writev of the response), so a throughput ratio to the floor leaves less room than the same ratio of CPU time would.'
      : '')
  );
}

/** The evaluate rows of the floor, the HTTP layer alone and the service, at the highest connection count. */
function httpLayerSplit(rows) {
  const c = Math.max(0, ...rows.map((r) => r.connections));
  const at = (target) => rows.find((r) => r.target === target && r.connections === c);
  const [floor, http, service] = ['floor', 'http-layer', 'service'].map(at);
  if (!floor || !http || !service) return undefined;
  const pick = (r) => ({ rps: r.rps, cpu: r.cpuUsPerRequest, loopOnCpu: r.loopOnCpu, loopWaiting: r.loopWaiting });
  return { connections: c, floor: pick(floor), http: pick(http), service: pick(service) };
}

export function toMarkdown(results) {
  const m = results.machine;
  const o = results.options;
  const lines = [];
  lines.push('# WasmGuard benchmark: latest run', '');
  lines.push(`Generated by \`npm run bench\` (bench/run.mjs) on ${results.date}. The numbers come from one machine and one run: compare ratios, not absolute values, across machines.`, '');
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, ${m.os}; Node ${m.node} (V8 ${m.v8}), Fastify ${m.fastify}, autocannon ${m.autocannon}. ` +
      `Load average at start: ${m.loadAverageAtStart.join(' / ')}.${m.nodeLine ? ` ${m.nodeLine}.` : ''}`,
    '',
  );
  lines.push(
    `Settings: ${o.duration} s per run, ${o.warmup} s warm-up per target, connections ${o.connections.join(', ')}, ` +
      `${o.rounds} alternations for evaluate, cpu and trap; load generator: autocannon (programmatic, one thread) in the bench process, over 127.0.0.1, pipelining 1. ` +
      `The service (and its HTTP-layer baseline and the response rows' two ceilings and the service with the guard that does no work) run with the node flags of \`npm start\`: ${(o.serviceNodeFlags ?? []).join(' ') || 'none'}, and its environment: ${Object.entries(o.serviceEnv ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}; the floor and the naive baseline with node's defaults.`,
    '',
  );
  lines.push(
    '## Targets (issues 8 and 20)',
    '',
    'Measured on the medians of the rounds; "by round" compares each run with the run of the same round it is judged against.',
    '',
    '| target | measured | by round | required | |',
    '|---|---|---|---|---|',
  );
  for (const t of results.targets) {
    lines.push(`| ${t.name} | ${fmt(t.measured, 3)} | ${t.byRound?.map((v) => fmt(v, 3)).join(', ') ?? '—'} | ${t.threshold} | ${t.met ? 'met' : '**missed**'} |`);
  }
  lines.push('');
  lines.push('## Throughput and latency', '');
  lines.push(
    'Latency is per request (2xx replies), measured by the client. Ratios are to the floor at the same connection count, on the same request bodies. ' +
      'CPU is the server process (all its threads) per request served; "other processes busy" flags runs disturbed by the rest of the machine.',
    '',
  );
  lines.push('| scenario | target | conns | req/s | p50 ms | p99 ms | req/s ÷ floor | p99 ÷ floor | CPU µs/req | notes |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [, scenario] of Object.entries(results.scenarios)) {
    for (const r of scenario.rows ?? []) {
      lines.push(
        `| ${r.scenario} | ${r.label} | ${r.connections} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.vsFloor?.rps)} | ${fmt(r.vsFloor?.p99)} | ${fmt(r.cpuUsPerRequest, 0)} | ${rowNotes(r)} |`,
      );
    }
  }
  lines.push('');
  const s = results.scenarios;
  const layers = httpLayerSplit(s.evaluate?.rows ?? []);
  if (layers) {
    lines.push(
      `Where /v1/evaluate's time goes at ${layers.connections} connections: the floor (bare Fastify) serves ${fmt(layers.floor.rps, 0)} req/s at ${fmt(layers.floor.cpu, 1)} µs of CPU each; ` +
        `the service's own HTTP layer answering a fixed decision with no guard (request ids, validation and serialisation, metrics, load shedding, decision log) ` +
        `serves ${fmt(layers.http.rps, 0)} req/s (${fmt(layers.http.rps / layers.floor.rps)} of the floor) at ${fmt(layers.http.cpu, 1)} µs; ` +
        `the service with the guard call and the DIFC check serves ${fmt(layers.service.rps, 0)} req/s (${fmt(layers.service.rps / layers.http.rps)} of its HTTP layer) at ${fmt(layers.service.cpu, 1)} µs.` +
        (layers.service.loopOnCpu === undefined || layers.floor.loopOnCpu === undefined ? '' : loopSentence(layers)),
      '',
    );
  }
  const sensitivity = sensitivityParagraph(s.sensitivity?.rows ?? []);
  if (sensitivity) lines.push('## What a little work per request costs on this machine', '', sensitivity, '');
  if (s.startup?.info) {
    const runs = s.startup.info.runs;
    lines.push('## Startup', '');
    lines.push(
      `Spawn of \`node dist/server.js\` (bundled sample guards, default pool sizes, WASMGUARD_PORT=0) to the first 200 on /readyz: ` +
        `${runs.map((r) => r.readyMs).join(', ')} ms; median **${s.startup.info.medianReadyMs} ms**. Listening socket seen at ${runs.map((r) => r.listeningMs).join(', ')} ms.`,
      '',
    );
  }
  if (s.response?.info?.perItem) {
    const r = s.response.info;
    const one = r.perItem.find((p) => p.items === 1);
    lines.push('## /v1/evaluate/response: cost per item', '');
    lines.push(
      `list_issues results in MCP text form, filter mode (half the items removed), ${r.sizeConnections} connections, against the echo floor on the same bodies. ` +
        'CPU is the server process (all threads) per request; "per item" is the CPU beyond the 1-item request, divided by the items beyond the first.',
      '',
    );
    lines.push('| items | request bytes | service req/s | echo floor req/s | ÷ floor | service CPU µs/req | per item µs | echo CPU µs/req | echo per item µs |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of r.perItem) {
      const extra = (cpu, base) => (p.items > 1 && cpu !== undefined && base !== undefined ? (cpu - base) / (p.items - 1) : undefined);
      lines.push(
        `| ${p.items} | ${p.requestBytes} | ${fmt(p.serviceRps, 0)} | ${fmt(p.floorRps, 0)} | ${fmt(p.vsFloor)} | ${fmt(p.serviceCpuUs, 0)} | ${fmt(extra(p.serviceCpuUs, one?.serviceCpuUs), 1)} | ${fmt(p.floorCpuUs, 0)} | ${fmt(extra(p.floorCpuUs, one?.floorCpuUs), 1)} |`,
      );
    }
    lines.push('');
    const ceiling = ceilingParagraph(s.response.rows ?? [], r.items);
    if (ceiling) lines.push(ceiling, '');
  }
  if (s.memory?.info) {
    const mem = s.memory.info;
    lines.push('## Memory with the default config (RSS of `node dist/server.js`, no config file, worker threads included)', '');
    lines.push(`- idle after start: ${fmt(mem.idleMB, 1)} MB (instances started / default pool size: ${mem.guards})`);
    for (const l of mem.underLoad) lines.push(`- under ${l.what === 'response' ? '/v1/evaluate/response (100 items)' : '/v1/evaluate'} load at ${l.connections} connections: ${fmt(l.rssMaxMB, 1)} MB (${fmt(l.rps, 0)} req/s)`);
    lines.push(`- idle after the load: ${fmt(mem.afterMB, 1)} MB (instances started, grown under the load: ${mem.guardsAfter ?? '?'})`);
    if (mem.stoppedMB !== undefined) {
      lines.push(`- idle ${fmt(mem.idleMs / 1000 + 5, 0)} s after the load, once instances idle for the default ${fmt(mem.idleMs / 1000, 0)} s were stopped: ${fmt(mem.stoppedMB, 1)} MB (instances started: ${mem.guardsStopped})`);
    }
    lines.push('');
  }
  if (results.memory) {
    const mem = results.memory;
    lines.push('## Memory of the bench service (its config: every guard of the scenarios; RSS, worker threads included)', '');
    lines.push(`- idle after start: ${fmt(mem.idleMB, 1)} MB (guard instances started / pool size, one per worker thread: ${mem.guards})`);
    lines.push(`- under load (max sampled every 250 ms during the runs): ${fmt(mem.loadMaxMB, 1)} MB`);
    if (mem.evaluateLoadMaxMB) lines.push(`- under /v1/evaluate load: ${fmt(mem.evaluateLoadMaxMB, 1)} MB; under /v1/evaluate/response load: ${fmt(mem.responseLoadMaxMB, 1)} MB`);
    lines.push(`- idle after the load: ${fmt(mem.afterMB, 1)} MB`);
    lines.push(`- floor server, for comparison: ${fmt(mem.floorIdleMB, 1)} MB idle, ${fmt(mem.floorLoadMaxMB, 1)} MB under load`, '');
  }
  if (s.cpu?.info) {
    lines.push('## Scaling across workers', '');
    lines.push(
      `CPU-heavy guard (bench/guards/spin.wat, ${s.cpu.info.inThreadCallMs} ms per label_resource in-thread), ${s.cpu.info.connections} connections: ` +
        `pool size 2 gives **${s.cpu.info.scaling}x** the throughput of pool size 1.`,
      '',
    );
  }
  if (s.trap?.info) {
    const t = s.trap.info;
    const pair = (i) =>
      `healthy ${i.healthyRpsWithTraps} req/s (p99 ${i.healthyP99WithTraps} ms) vs ${i.healthyRpsNoTrap} req/s (p99 ${i.healthyP99NoTrap} ms) ` +
      `without traps (ratio **${i.healthyRatio}**${i.healthyRatioByRound ? `; by round ${i.healthyRatioByRound.join(', ')}` : ''}); healthy requests failed: ${i.healthyFailed}` +
      `${Object.keys(i.healthyFailedStatuses).length ? ` ${JSON.stringify(i.healthyFailedStatuses)}` : ''}; trapping requests answered ${JSON.stringify(i.trapStatuses)}` +
      (i.trapCost ? `. ${trapCostSentence(i.trapCost, i.bestRatio, results.machine.cpus)}` : '');
    lines.push('## Traps under load', '');
    lines.push(`Rust fixture guard, ${t.connections} connections, 1 request in 100 hitting trap_unreachable.`, '');
    lines.push(`- default limits (4 MiB first output buffer, the judged target): ${pair(t)}.`);
    if (t.firstBuffer64KiB) {
      lines.push(
        `- the same guard with \`limits.initialOutputBytes: 65536\`: ${pair(t.firstBuffer64KiB)}. ` +
          'A trap costs a fresh instance, whose first call grows its memory by the first output buffer; V8 collects the evicted memories in proportion to their size.',
      );
    }
    lines.push('');
  }
  const notes = [...(results.notes ?? [])];
  if (s.response?.info) {
    const r = s.response.info;
    const sizes = (r.sizes ?? []).map((z) => `${z.items} items: request ${z.requestBytes} bytes, reply ${z.replyBytes} bytes, ${z.filtered} filtered`).join('; ');
    notes.unshift(`response: ${sizes}. The response rows are judged against the echo floor (a bare Fastify route that parses the same body and sends it back).`);
  }
  if (notes.length) lines.push('## Notes', '', ...notes.map((n) => `- ${n}`));
  lines.push('');
  return lines.join('\n');
}

export function writeResults(dir, results) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), toMarkdown(results));
}

/**
 * What the response rows' ceilings reached (the echo floor plus the guard's
 * label_response in worker threads, nothing else; and the same with a guard
 * that does no work), the service against the first, and the service run
 * with the guard that does no work.
 */
function ceilingParagraph(rows, items) {
  const at = (target, connections) => rows.find((r) => r.items === items && r.target === target && r.connections === connections);
  const judged = rows.filter((r) => r.items === items && r.target === 'ceiling' && r.vsFloor);
  if (!judged.length) return undefined;
  const parts = judged.map((c) => {
    const service = at('service', c.connections);
    const free = at('ceiling-free', c.connections);
    const serviceFree = at('service-free', c.connections);
    return (
      `at ${c.connections} connections ${fmt(c.vsFloor.rps)} of the echo floor (p99 ${fmt(c.vsFloor.p99)}×, ${fmt(c.cpuUsPerRequest, 0)} µs of CPU per request)` +
      (free?.vsFloor ? ` and ${fmt(free.vsFloor.rps)} with the guard that does no work (p99 ${fmt(free.vsFloor.p99)}×, ${fmt(free.cpuUsPerRequest, 0)} µs)` : '') +
      (service ? `, the service ${fmt(service.rps / c.rps)} of the first` : '') +
      (serviceFree?.vsFloor ? `, the service with the guard that does no work ${fmt(serviceFree.vsFloor.rps)} of the echo floor (p99 ${fmt(serviceFree.vsFloor.p99)}×, ${fmt(serviceFree.cpuUsPerRequest, 0)} µs)` : '')
    );
  });
  return (
    `The ceiling of ${items}-item checks on this machine: the echo floor whose route first has the guard's label_response made in a worker thread ` +
    `(the body parsed, the ABI's input built, the call, its labels parsed; no DIFC check, no filtering, no decision log; as many workers as the service's pool), ` +
    `with this guard and with a guard that does no work (it answers at once): ${parts.join('; ')}. ` +
    `The service makes the same call and checks, filters and logs besides: it cannot pass the first ratio here, and no guard can lift it past the second. ` +
    `The service with the guard that does no work (run apart; the result is one part, nothing is filtered) shows what its own steps leave when the guard costs nothing.`
  );
}

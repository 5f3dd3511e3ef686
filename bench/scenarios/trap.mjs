/**
 * Traps under load: the Rust fixture guard serves /v1/evaluate (get_issue),
 * and one request in a hundred, spread over all connections by a shared
 * counter, calls its trap_unreachable hook, which traps the instance: the pool
 * evicts it and replaces it while the rest of the traffic goes on. The same
 * run without traps (the hundredth request is a healthy one too) is the
 * reference. Healthy requests are counted and timed apart from the trapping
 * ones: every healthy request must succeed.
 *
 * The same pair runs again on the same guard configured with a 64 KiB first
 * output buffer (limits.initialOutputBytes) instead of the contract's 4 MiB
 * default: a fresh instance's first call grows its memory by that buffer, and
 * collecting the memories of evicted instances is most of what a trap costs.
 * Only the default pair is judged against the target.
 *
 * Next to each pair: what a trap costs the guard runtime alone at the same
 * rate (a fresh GuardInstance given the policy, 99 healthy calls, the trap,
 * against the same calls on one instance), measured in a worker thread with
 * no pool or HTTP, and the best ratio that cost allows at this trap rate on
 * this machine.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SERVICE_NODE_FLAGS } from '../lib/service-process.mjs';

export const name = 'trap';

const EVERY = 100;
const LIFECYCLES = 2000;
const execFileP = promisify(execFile);

/** The no-trap and 1%-trap targets for one configured guard. */
function targets(ctx, guard, label) {
  const healthy = JSON.stringify({ guard, tool: 'get_issue', args: { owner: 'octo-org', repo: 'app' } });
  const trapping = JSON.stringify({ guard, tool: 'trap_unreachable', args: {} });
  const requests = (withTraps) => () => {
    let n = 0;
    return [
      {
        method: 'POST',
        path: '/v1/evaluate',
        headers: { 'content-type': 'application/json' },
        body: healthy,
        setupRequest: (req, context) => {
          const trap = withTraps && ++n % EVERY === 0;
          context.kind = trap ? 'trap' : 'healthy';
          return { ...req, body: trap ? trapping : healthy };
        },
      },
    ];
  };
  return [
    { name: `${guard} no-trap`, label: `${label}, no traps`, server: ctx.service, path: '/v1/evaluate', requests: requests(false) },
    { name: `${guard} 1%-trap`, label: `${label}, 1% trapping`, server: ctx.service, path: '/v1/evaluate', requests: requests(true) },
  ];
}

/** Healthy throughput with traps against the same guard without, and what the trapping requests got. */
function summarise(clean, trapped, connections) {
  const info = {
    connections,
    healthyRpsNoTrap: clean.kinds.healthy?.rps ?? 0,
    healthyRpsWithTraps: trapped.kinds.healthy?.rps ?? 0,
    healthyP99NoTrap: clean.kinds.healthy?.p99 ?? null,
    healthyP99WithTraps: trapped.kinds.healthy?.p99 ?? null,
    healthyFailed: trapped.kinds.healthy?.failed ?? 0,
    healthyFailedStatuses: Object.fromEntries(Object.entries(trapped.kinds.healthy?.statuses ?? {}).filter(([s]) => s < 200 || s >= 300)),
    connectionErrors: trapped.errors,
    traps: trapped.kinds.trap?.failed ?? 0,
    trapStatuses: trapped.kinds.trap?.statuses ?? {},
  };
  const ratio = (withTraps, without) => Math.round((withTraps / without) * 1000) / 1000;
  info.healthyRatio = ratio(info.healthyRpsWithTraps, info.healthyRpsNoTrap);
  // Round by round (each 1%-trap run against the no-trap run just before it): the spread shows the noise.
  info.healthyRatioByRound = clean.runs.map((r, i) => ratio(trapped.runs[i]?.kindRps.healthy ?? 0, r.kindRps.healthy ?? 0));
  return info;
}

/**
 * What a trap costs the guard runtime alone at one request in EVERY, in a
 * worker thread with no pool or HTTP (bench/lib/instance-lifecycle.mjs, run
 * with the service's node flags).
 */
async function trapCost(wasm, initialOutputBytes) {
  const script = join(REPO_ROOT, 'bench/lib/instance-lifecycle.mjs');
  const args = [...SERVICE_NODE_FLAGS, script, wasm, String(initialOutputBytes), String(LIFECYCLES), String(EVERY)];
  const { stdout } = await execFileP(process.execPath, args);
  return JSON.parse(stdout);
}

/**
 * The best healthy ratio the service could reach at this trap rate if a trap
 * cost nothing but what it costs the guard runtime: every CPU of the machine
 * serving requests at the no-trap run's CPU per request, and each trap
 * costing only its fresh instance and the collections it brings. Of every
 * EVERY requests one is the trap, so the ratio cannot pass (EVERY - 1) / EVERY
 * even for free traps.
 */
function bestRatio(info, cost, cpus) {
  const cpuMsPerRequest = (cpus * 1000) / info.healthyRpsNoTrap;
  const ratio = (EVERY - 1) / EVERY / (1 + cost.cpuMsPerTrap / (EVERY * cpuMsPerRequest));
  return Math.round(ratio * 1000) / 1000;
}

export async function run(ctx) {
  const c = Math.max(...ctx.opts.connections);
  const rows = await ctx.alternate({
    scenario: name,
    connections: [c],
    rounds: ctx.opts.rounds,
    targets: [
      ...targets(ctx, 'rust', 'rust guard'),
      ...targets(ctx, 'rust-64k', 'rust guard, 64 KiB first output buffer'),
    ],
  });
  const info = summarise(rows[0], rows[1], c);
  info.firstBuffer64KiB = summarise(rows[2], rows[3], c);
  for (const [what, i, firstBuffer] of [
    ['default limits', info, 4 * 1024 * 1024],
    ['64 KiB first output buffer', info.firstBuffer64KiB, 64 * 1024],
  ]) {
    i.trapCost = await trapCost(ctx.rustGuard, firstBuffer);
    i.bestRatio = bestRatio(i, i.trapCost, ctx.cpus);
    ctx.log(
      `  trap (${what}): healthy ${i.healthyRpsWithTraps} req/s with traps vs ${i.healthyRpsNoTrap} without (${i.healthyRatio}), ` +
        `healthy failed ${i.healthyFailed}, traps ${i.traps} ${JSON.stringify(i.trapStatuses)}; ` +
        `a trap costs the guard runtime alone ${i.trapCost.cpuMsPerTrap} ms of CPU, so even with every CPU serving requests the service could not pass ${i.bestRatio} here`,
    );
  }
  return { rows, info };
}

/**
 * Traps under load: the Rust fixture guard serves /v1/evaluate (get_issue),
 * and one request in a hundred, spread over all connections by a shared
 * counter, calls its trap_unreachable hook, which traps the instance: the pool
 * evicts it and replaces it while the rest of the traffic goes on. The same
 * run without traps (the hundredth request is a healthy one too) is the
 * reference. Healthy requests are counted and timed apart from the trapping
 * ones: every healthy request must succeed.
 */
export const name = 'trap';

const EVERY = 100;

export async function run(ctx) {
  const healthy = JSON.stringify({ guard: 'rust', tool: 'get_issue', args: { owner: 'octo-org', repo: 'app' } });
  const trapping = JSON.stringify({ guard: 'rust', tool: 'trap_unreachable', args: {} });
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
  const c = Math.max(...ctx.opts.connections);
  const rows = await ctx.alternate({
    scenario: name,
    connections: [c],
    rounds: ctx.opts.rounds,
    targets: [
      { name: 'no-trap', label: 'rust guard, no traps', server: ctx.service, path: '/v1/evaluate', requests: requests(false) },
      { name: '1%-trap', label: 'rust guard, 1% trapping', server: ctx.service, path: '/v1/evaluate', requests: requests(true) },
    ],
  });
  const [clean, trapped] = rows;
  const info = {
    connections: c,
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
  info.healthyRatio = Math.round((info.healthyRpsWithTraps / info.healthyRpsNoTrap) * 1000) / 1000;
  ctx.log(
    `  trap: healthy ${info.healthyRpsWithTraps} req/s with traps vs ${info.healthyRpsNoTrap} without (${info.healthyRatio}), ` +
      `healthy failed ${info.healthyFailed}, traps ${info.traps} ${JSON.stringify(info.trapStatuses)}`,
  );
  return { rows, info };
}

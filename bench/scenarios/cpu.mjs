/**
 * Scaling across workers: a CPU-heavy guard (bench/guards/spin.wat, ~0.5-1 ms
 * of wasm per label_resource) loaded twice in the service, with pool size 1
 * (spin1) and 2 (spin2). Throughput is bounded by guard CPU, so the ratio
 * spin2/spin1 shows what a second worker buys on this machine (whose two
 * cores are also shared with the event loop and the load generator).
 */
export const name = 'cpu';

export const CONNECTIONS = 16;

export async function run(ctx) {
  const body = (guard) => JSON.stringify({ guard, tool: 'spin', args: {} });
  const rows = await ctx.alternate({
    scenario: name,
    connections: [CONNECTIONS],
    rounds: ctx.opts.rounds,
    targets: [
      { name: 'pool-1', label: 'spin guard, pool size 1', server: ctx.service, path: '/v1/evaluate', body: body('spin1') },
      { name: 'pool-2', label: 'spin guard, pool size 2', server: ctx.service, path: '/v1/evaluate', body: body('spin2') },
    ],
  });
  const [one, two] = rows;
  const scaling = Math.round((two.rps / one.rps) * 100) / 100;
  ctx.log(`  cpu: pool 2 / pool 1 = ${scaling}x (in-thread call ${ctx.spinCallMs.toFixed(3)} ms)`);
  return { rows, info: { scaling, inThreadCallMs: Math.round(ctx.spinCallMs * 1000) / 1000, connections: CONNECTIONS } };
}

/**
 * How much a few µs of work per request cost here: the floor, the floor whose
 * route first busy-waits 4 and 8 µs, and the service, alternated at 64
 * connections on the evaluate request. On this machine a server's own
 * per-request cost in the kernel (mostly the response's writev) grows as the
 * server gets slower, so the throughput ratio falls faster than the work added
 * would suggest; these rows measure that, next to the service, in the same run.
 */
import { join } from 'node:path';
import { startChild } from '../lib/child.mjs';
import { GET_ISSUE_ARGS } from '../lib/payloads.mjs';
import { REPO_ROOT } from '../lib/service-process.mjs';

export const name = 'sensitivity';

export const WORK_US = [4, 8];
const CONNECTIONS = 64;

export async function run(ctx) {
  const body = JSON.stringify({ guard: 'github', tool: 'get_issue', args: GET_ISSUE_ARGS });
  const busy = [];
  try {
    for (const us of WORK_US) {
      busy.push(await startChild(join(REPO_ROOT, 'bench/lib/floor-server.mjs'), [String(us)], { logFile: join(ctx.tmp, `floor-${us}us.log`) }));
    }
    const rows = await ctx.alternate({
      scenario: name,
      connections: [CONNECTIONS],
      rounds: ctx.opts.rounds,
      targets: [
        { name: 'floor', server: ctx.floor, path: '/floor', body },
        ...WORK_US.map((us, i) => ({ name: `floor+${us}us`, label: `floor + ${us} µs of work per request`, server: busy[i], path: '/floor', body })),
        { name: 'service', label: 'WasmGuard /v1/evaluate', server: ctx.service, path: '/v1/evaluate', body },
      ],
    });
    return { rows, info: { workUs: WORK_US, connections: CONNECTIONS } };
  } finally {
    await Promise.all(busy.map((p) => p.stop()));
  }
}

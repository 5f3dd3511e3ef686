/**
 * /v1/evaluate on a cheap guard call (github guard, get_issue on a public
 * repository: one label_resource, label_agent cached), against the floor and
 * against the naive per-request-instance server. Carries the headline target.
 * The service's HTTP layer answering with a fixed decision (http-layer) splits
 * the gap to the floor into what HTTP features cost and what the guard call
 * and DIFC check add.
 */
import { GET_ISSUE_ARGS } from '../lib/payloads.mjs';

export const name = 'evaluate';

export async function run(ctx) {
  const body = JSON.stringify({ guard: 'github', tool: 'get_issue', args: GET_ISSUE_ARGS });
  const rows = await ctx.alternate({
    scenario: name,
    rounds: ctx.opts.rounds,
    targets: [
      { name: 'floor', server: ctx.floor, path: '/floor', body },
      { name: 'http-layer', label: 'service HTTP layer, fixed decision (no guard)', server: ctx.httpLayer, path: '/v1/evaluate', body },
      { name: 'service', label: 'WasmGuard /v1/evaluate', server: ctx.service, path: '/v1/evaluate', body },
      { name: 'naive', label: 'naive (instance per request)', server: ctx.naive, path: '/v1/evaluate', body },
    ],
  });
  return { rows };
}

/**
 * /v1/evaluate/response on a 100-item list_issues result (MCP text form, about
 * 70 KB) in filter mode: label_response plus per-item filtering; half the
 * items come from authors below the policy's integrity and are removed.
 * operation and resource are sent back as a gateway does, so label_resource
 * does not run again. The floor gets the same request body.
 */
import { LIST_ISSUES_ARGS, listIssuesResult } from '../lib/payloads.mjs';

export const name = 'response';

export async function run(ctx) {
  const evaluated = await ctx.post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS });
  const body = JSON.stringify({
    guard: 'github',
    tool: 'list_issues',
    args: LIST_ISSUES_ARGS,
    mode: 'filter',
    operation: evaluated.operation,
    resource: evaluated.resource,
    result: listIssuesResult(100),
  });
  const check = await ctx.post('/v1/evaluate/response', body);
  const info = { requestBytes: body.length, replyBytes: JSON.stringify(check).length, filtered: check.filtered.length, items: 100 };
  ctx.log(`  response: request ${info.requestBytes} B, reply ${info.replyBytes} B, ${info.filtered}/100 items filtered`);
  const rows = await ctx.alternate({
    scenario: name,
    targets: [
      { name: 'floor', server: ctx.floor, path: '/floor', body },
      { name: 'service', label: 'WasmGuard /v1/evaluate/response', server: ctx.service, path: '/v1/evaluate/response', body },
    ],
  });
  return { rows, info };
}

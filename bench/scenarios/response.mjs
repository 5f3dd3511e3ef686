/**
 * /v1/evaluate/response on list_issues results (MCP text form) of 1, 100 and
 * 1,000 issues (about 0.7 KB, 70 KB and 710 KB of request) in filter mode:
 * label_response plus per-item filtering; half the items come from authors
 * below the policy's integrity and are removed. operation and resource are
 * sent back as a gateway does, so label_resource does not run again.
 *
 * Against the echo floor: a bare Fastify route that parses the same body and
 * sends it back (bench/lib/floor-server.mjs /echo), i.e. what receiving and
 * returning these bytes costs any Node server. And against the ceiling
 * (bench/lib/guard-ceiling-server.mjs): the echo floor plus the guard's
 * label_response call in worker threads and nothing else, the most the
 * service can reach with this guard here; and the same with a guard that
 * does no work, the most it can reach with any guard. And the service itself
 * run apart with only that guard (it labels nothing, so the result is one
 * part): what the service's own steps leave of the echo floor when the guard
 * costs nothing. 100 items run at every
 * connection count, alternated for the configured rounds (the judged rows);
 * 1 and 1,000 items at 16 connections, for the cost per item.
 */
import { postJson } from '../lib/http.mjs';
import { LIST_ISSUES_ARGS, listIssuesResult } from '../lib/payloads.mjs';

export const name = 'response';

/** Items of the judged rows, and the sizes of the cost-per-item table. */
export const ITEMS = 100;
export const SIZES = [1, 100, 1000];
export const SIZE_CONNECTIONS = 16;

export async function run(ctx) {
  const evaluate = (url, guard) => postJson(`${url}/v1/evaluate`, { guard, tool: 'list_issues', args: LIST_ISSUES_ARGS });
  const evaluated = { github: await evaluate(ctx.service.url, 'github'), free: await evaluate(ctx.freeGuardService.url, 'free') };
  const bodyOf = (items, guard = 'github') =>
    JSON.stringify({
      guard,
      tool: 'list_issues',
      args: LIST_ISSUES_ARGS,
      mode: 'filter',
      operation: evaluated[guard].operation,
      resource: evaluated[guard].resource,
      result: listIssuesResult(items),
    });
  const sizes = {};
  for (const items of SIZES) {
    const body = bodyOf(items);
    const check = await ctx.post('/v1/evaluate/response', body);
    if (check.decision !== 'allow' || !Array.isArray(check.filtered)) throw new Error(`response check of ${items} items did not filter: ${JSON.stringify(check).slice(0, 300)}`);
    const freeBody = bodyOf(items, 'free');
    const free = await postJson(`${ctx.freeGuardService.url}/v1/evaluate/response`, freeBody);
    if (free.decision !== 'allow' || free.filtered?.length !== 0) throw new Error(`response check of ${items} items with the guard that does no work did not allow all: ${JSON.stringify(free).slice(0, 300)}`);
    sizes[items] = { items, body, freeBody, requestBytes: body.length, replyBytes: JSON.stringify(check).length, filtered: check.filtered.length };
    ctx.log(`  response: ${items} items, request ${body.length} B, reply ${sizes[items].replyBytes} B, ${check.filtered.length}/${items} items filtered`);
  }
  const targets = (items) => [
    { name: 'floor', label: `echo floor (bare Fastify, parses the body and sends it back), ${items} items`, server: ctx.floor, path: '/echo', body: sizes[items].body },
    {
      name: 'ceiling',
      label: `ceiling: the echo floor plus the guard's label_response in a worker, nothing else, ${items} items`,
      server: ctx.guardCeiling,
      path: '/echo',
      body: sizes[items].body,
    },
    {
      name: 'ceiling-free',
      label: `ceiling with a guard that does no work (answers at once, no labels), ${items} items`,
      server: ctx.freeGuardCeiling,
      path: '/echo',
      body: sizes[items].body,
    },
    {
      name: 'service-free',
      label: `WasmGuard /v1/evaluate/response with the guard that does no work (run apart), ${items} items`,
      server: ctx.freeGuardService,
      path: '/v1/evaluate/response',
      body: sizes[items].freeBody,
    },
    { name: 'service', label: `WasmGuard /v1/evaluate/response, ${items} items`, server: ctx.service, path: '/v1/evaluate/response', body: sizes[items].body },
  ];
  const rows = [];
  for (const items of SIZES) {
    const judged = items === ITEMS;
    const sizeRows = await ctx.alternate({
      scenario: name,
      targets: targets(items),
      connections: judged ? ctx.opts.connections : [SIZE_CONNECTIONS],
      rounds: judged ? ctx.opts.rounds : 1,
    });
    for (const row of sizeRows) rows.push({ ...row, items });
  }
  const perItem = SIZES.map((items) => {
    const at = (target) => rows.find((r) => r.items === items && r.target === target && r.connections === SIZE_CONNECTIONS);
    const service = at('service');
    const floor = at('floor');
    return {
      items,
      requestBytes: sizes[items].requestBytes,
      serviceCpuUs: service?.cpuUsPerRequest,
      floorCpuUs: floor?.cpuUsPerRequest,
      serviceRps: service?.rps,
      floorRps: floor?.rps,
      vsFloor: service?.vsFloor?.rps,
    };
  });
  const info = {
    items: ITEMS,
    sizes: Object.values(sizes).map(({ body, freeBody, ...rest }) => rest),
    perItem,
    sizeConnections: SIZE_CONNECTIONS,
  };
  return { rows, info };
}

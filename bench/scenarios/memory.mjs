/**
 * Memory as a user runs the service: `node dist/server.js` with no config
 * (the bundled sample guards, default pool sizes, default log level), its
 * RSS idle after start, then the most it reaches under /v1/evaluate load and
 * under /v1/evaluate/response load (100 issues, 70 KB per request) at 16 and
 * 64 connections: a per-request allocation that grew with the number of
 * connections would show as the second response row growing past the first.
 * The request carries the policy (the bundled github guard has none of its own).
 * Then, once the default pool idle time has passed, what is left when the
 * instances the load started have been stopped.
 */
import { join } from 'node:path';
import { GET_ISSUE_ARGS, GITHUB_POLICY, LIST_ISSUES_ARGS, listIssuesResult } from '../lib/payloads.mjs';
import { postJson } from '../lib/http.mjs';
import { measure } from '../lib/runner.mjs';
import { guardPools, startService } from '../lib/service-process.mjs';
import { GUARD_DEFAULTS } from '../../dist/guard/defaults.js';

export const name = 'memory';

const MiB = 1024 * 1024;
const round = (v) => Math.round(v * 10) / 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run(ctx) {
  const service = await startService({ logFile: join(ctx.tmp, 'memory-service.log') });
  try {
    await sleep(1000); // the warm workers settle
    const idlePools = await guardPools(service.url);
    const idleMB = round(service.rss() / MiB);
    const evaluateBody = JSON.stringify({ guard: 'github', tool: 'get_issue', args: GET_ISSUE_ARGS, policy: GITHUB_POLICY });
    const evaluated = await postJson(`${service.url}/v1/evaluate`, { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY });
    const responseBody = JSON.stringify({
      guard: 'github',
      tool: 'list_issues',
      args: LIST_ISSUES_ARGS,
      policy: GITHUB_POLICY,
      mode: 'filter',
      operation: evaluated.operation,
      resource: evaluated.resource,
      result: listIssuesResult(100),
    });
    const loads = [
      { what: 'evaluate', connections: 64, path: '/v1/evaluate', body: evaluateBody },
      { what: 'response', connections: 16, path: '/v1/evaluate/response', body: responseBody },
      { what: 'response', connections: 64, path: '/v1/evaluate/response', body: responseBody },
    ];
    const underLoad = [];
    for (const l of loads) {
      const r = await measure({ server: service, path: l.path, body: l.body }, l.connections, ctx.opts.duration);
      underLoad.push({ what: l.what, connections: l.connections, rssMaxMB: r.rssMaxMB, rps: r.rps, failed: r.failed });
      ctx.log(`  memory: ${l.what} c=${l.connections} ${Math.round(r.rps)} req/s, RSS ≤ ${r.rssMaxMB} MB${r.failed ? `, non-2xx ${r.failed}` : ''}`);
    }
    await sleep(1000);
    const afterPools = await guardPools(service.url);
    const afterMB = round(service.rss() / MiB);
    ctx.log(`  memory: idle ${idleMB} MB (instances started/pool size: ${idlePools.guards}), after ${afterMB} MB (${afterPools.guards}); waiting out the pool idle time`);
    await sleep(GUARD_DEFAULTS.poolIdleMs + 5000);
    const stoppedPools = await guardPools(service.url);
    const info = {
      guards: idlePools.guards,
      workers: idlePools.workers,
      guardsAfter: afterPools.guards,
      workersAfter: afterPools.workers,
      idleMB,
      underLoad,
      afterMB,
      idleMs: GUARD_DEFAULTS.poolIdleMs,
      stoppedMB: round(service.rss() / MiB),
      guardsStopped: stoppedPools.guards,
    };
    ctx.log(`  memory: ${info.idleMs / 1000 + 5} s after the load ${info.stoppedMB} MB (${info.guardsStopped})`);
    return { rows: [], info };
  } finally {
    await service.stop();
  }
}

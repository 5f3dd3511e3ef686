/**
 * /v1/evaluate with a session against the same call without one (issue 19):
 * the memory store on the main service process, and Redis on a second
 * service process with WASMGUARD_SESSION_STORE pointing at a local
 * redis-server. Ratios are to the stateless call on the main service
 * (targets: memory ≥ 0.9, Redis ≥ 0.7 at 64 connections). A session
 * evaluate reads the session (one store call) and keeps its decision for
 * /v1/evaluate/response (a second store call).
 */
import { join } from 'node:path';
import { postJson } from '../lib/http.mjs';
import { GET_ISSUE_ARGS, GITHUB_POLICY } from '../lib/payloads.mjs';
import { hasRedisServer, startRedis } from '../lib/redis.mjs';
import { startService } from '../lib/service-process.mjs';

export const name = 'sessions';

async function sessionBody(url) {
  const created = await postJson(`${url}/v1/sessions`, { guard: 'github', policy: GITHUB_POLICY, mode: 'filter' });
  return JSON.stringify({ session: created.session_id, tool: 'get_issue', args: GET_ISSUE_ARGS });
}

export async function run(ctx) {
  // The evaluate scenario's call: the policy is the guard's configured one (the same as the sessions').
  const stateless = JSON.stringify({ guard: 'github', tool: 'get_issue', args: GET_ISSUE_ARGS });
  const targets = [
    { name: 'stateless', label: '/v1/evaluate without a session', server: ctx.service, path: '/v1/evaluate', body: stateless },
    { name: 'session-memory', label: '/v1/evaluate with a session, memory store', server: ctx.service, path: '/v1/evaluate', body: await sessionBody(ctx.service.url) },
  ];
  const extra = [];
  if (hasRedisServer()) {
    const redis = await startRedis();
    extra.push(redis);
    const service = await startService({ config: ctx.configPath, env: { WASMGUARD_SESSION_STORE: redis.url }, logFile: join(ctx.tmp, 'service-redis.log') });
    extra.push(service);
    targets.push({ name: 'session-redis', label: '/v1/evaluate with a session, Redis store', server: service, path: '/v1/evaluate', body: await sessionBody(service.url) });
  } else {
    ctx.log('  sessions: redis-server is not installed; the Redis row is left out');
  }
  try {
    const rows = await ctx.alternate({ scenario: name, rounds: ctx.opts.rounds, targets, floor: 'stateless' });
    return { rows, note: 'vsFloor in this scenario is the ratio to the stateless /v1/evaluate of the same run' };
  } finally {
    for (const p of extra.reverse()) await p.stop();
  }
}

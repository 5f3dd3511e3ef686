import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService, type Service } from '../../src/service/service.js';
import { RUST_GUARD } from '../support/fixtures.js';
import { TEST_PRESSURE } from '../support/server.js';

/** Drives each counted event through the real server and reads it back from /metrics. */
describe('GET /metrics', () => {
  let service: Service;
  let url: string;

  beforeAll(async () => {
    const config: ResolvedConfig = {
      server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0 },
      guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 500, memoryLimitMb: 32 }],
      backends: {},
    };
    service = await createService(config, { logger: pino({ level: 'silent' }), pressure: TEST_PRESSURE });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => service.close());

  const evaluate = (tool: string, args: unknown = {}) =>
    fetch(`${url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'rust', tool, args }),
    });

  const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`)) continue;
      const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
      if (wanted.every((w) => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  };

  it('counts decisions, regrowths, traps, evictions, replacements and timeouts with bounded labels', async () => {
    expect((await evaluate('get_repo', { repo: 'octo/x' })).status).toBe(200);
    expect((await evaluate('big_output', { size: 5 * 1024 * 1024 })).status).toBe(200);
    expect((await evaluate('trap_unreachable')).status).toBe(502);
    expect((await evaluate('loop_forever')).status).toBe(504);
    // The pool recovers before the next call; give the replacement worker time to start.
    await expect.poll(async () => (await evaluate('get_repo')).status, { timeout: 5000 }).toBe(200);

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(sample(text, 'wasmguard_decisions_total', { guard: 'rust', operation: 'read', decision: 'allow', mode: 'strict' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'wasmguard_buffer_regrowths_total', { guard: 'rust', function: 'label_resource', kind: 'hinted' })).toBe(1);
    expect(sample(text, 'wasmguard_traps_total', { guard: 'rust', function: 'label_resource', kind: 'unreachable' })).toBe(1);
    expect(sample(text, 'wasmguard_traps_total', { guard: 'rust', function: 'label_resource', kind: 'deadline' })).toBe(1);
    expect(sample(text, 'wasmguard_instance_evictions_total', { guard: 'rust', reason: 'trap' })).toBe(1);
    expect(sample(text, 'wasmguard_instance_evictions_total', { guard: 'rust', reason: 'deadline' })).toBe(1);
    expect(sample(text, 'wasmguard_instance_replacements_total', { guard: 'rust', reason: 'trap' })).toBe(1);
    expect(sample(text, 'wasmguard_instance_replacements_total', { guard: 'rust', reason: 'deadline' })).toBe(1);
    expect(sample(text, 'wasmguard_guard_call_duration_seconds_count', { guard: 'rust', function: 'label_resource', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    // One request at a time: every batch held one call.
    expect(sample(text, 'wasmguard_guard_batch_size_count', { guard: 'rust' })).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'wasmguard_guard_batch_size_sum', { guard: 'rust' })).toBe(sample(text, 'wasmguard_guard_batch_size_count', { guard: 'rust' }));
    expect(sample(text, 'wasmguard_pool_instances', { guard: 'rust', state: 'idle' })).toBe(1);
    expect(sample(text, 'wasmguard_queue_length', { guard: 'rust' })).toBe(0);
    expect(sample(text, 'wasmguard_compilation_cache_lookups_total', { result: 'miss' })).toBe(1);
    expect(sample(text, 'wasmguard_http_request_duration_seconds_count', { route: '/v1/evaluate', status: '504' })).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Tool names from requests never become label values.
    expect(text).not.toContain('big_output');
    expect(text).not.toContain('get_repo');
  });
});

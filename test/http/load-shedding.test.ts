import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService, type Service } from '../../src/service/service.js';
import { RUST_GUARD } from '../support/fixtures.js';

/**
 * under-pressure on the real server. A heap limit of 1 byte puts the process
 * under pressure at every sample, which makes the shedding path deterministic
 * (an event-loop stall would be a race against the sampler).
 */
describe('load shedding', () => {
  let service: Service;
  let url: string;

  beforeAll(async () => {
    const config: ResolvedConfig = {
      server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0 },
      guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 2000, memoryLimitMb: 32 }],
      backends: {},
    };
    service = await createService(config, { logger: pino({ level: 'silent' }), pressure: { maxHeapUsedBytes: 1 } });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => service.close());

  it('answers decision routes with 503, Retry-After and decision deny; readiness follows; probes and metrics still answer', async () => {
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 5000 }).toBe(503);
    const readyz = (await (await fetch(`${url}/readyz`)).json()) as { reason: string };
    expect(readyz.reason).toMatch(/pressure/);

    const res = await fetch(`${url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'rust', tool: 'get_repo' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({
      error: { code: 'WG_ERR_OVERLOADED', message: expect.stringContaining('overloaded') },
      decision: 'deny',
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });
});

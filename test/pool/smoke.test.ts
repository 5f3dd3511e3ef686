import { afterAll, describe, expect, it } from 'vitest';
import { CompilationCache, parseResourceOutput } from '../../src/guard/index.js';
import { GuardPool } from '../../src/pool/index.js';
import { guardModule } from '../support/guards.js';
import { wat } from '../support/wat.js';

const logger = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

describe('pool smoke', () => {
  const cache = new CompilationCache();
  afterAll(() => cache.close());
  it('calls through workers', async () => {
    const compiled = await cache.load(await wat(guardModule({})), { name: 't' });
    const pool = await GuardPool.start(compiled, { size: 2, logger });
    const input = JSON.stringify({ tool_name: 'x', tool_args: {} });
    const r = await pool.call({ fn: 'label_resource', input });
    expect(parseResourceOutput(r.output, 't').operation).toBe('read');
    const p = await pool.call({ fn: 'label_resource', input, policy: { key: 'a', json: '{}' } });
    expect(p.agentOutput).toContain('filter');
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) await pool.call({ fn: 'label_resource', input });
    console.log('per call µs', ((performance.now() - t0) / 2000) * 1000);
    expect(pool.state().instances.idle).toBe(2);
    await pool.close();
  });
});

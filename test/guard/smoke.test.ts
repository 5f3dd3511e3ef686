import { describe, expect, it } from 'vitest';
import { CompilationCache, GuardInstance } from '../../src/guard/index.js';
import { guardModule } from '../support/guards.js';
import { wat } from '../support/wat.js';

describe('smoke', () => {
  it('runs a WAT guard', async () => {
    const cache = new CompilationCache();
    const compiled = await cache.load(await wat(guardModule({})), { name: 't' });
    const inst = GuardInstance.create(compiled);
    expect(inst.labelResource('get_x', {})).toEqual({
      resource: { description: 'repo octo/x', secrecy: ['private:octo/x'], integrity: ['approved:octo'] },
      operation: 'read',
    });
    expect(inst.labelAgent({}).mode).toBe('filter');
    expect(inst.labelResponse('get_x', {}, {})).toEqual({ kind: 'none' });
    const direct = GuardInstance.create(await cache.load(await wat(guardModule({ allocator: false })), { name: 'd' }));
    expect(direct.labelResource('get_x', {}).operation).toBe('read');
    expect(direct.labelResource('get_x', {}).operation).toBe('read');
    await cache.close();
  });
});

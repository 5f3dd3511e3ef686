/** How `wasmguard test` compares a case's `expect` with what the pipeline gave (pure). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/cli/expectations.js';
import { findingForCallError, HINTS } from '../../src/cli/findings.js';
import { GuardTimeoutError, GuardTrapError } from '../../src/guard/index.js';

const allowed = {
  decision: 'allow',
  operation: 'read',
  resource: { description: 'repo a/b', secrecy: ['s2', 's1'], integrity: [] },
  check_response: true,
  agent: { secrecy: ['s1', 's2', 's1'], integrity: ['i'] },
  labels: [
    { path: '/items/0', kind: 'item', allowed: true, secrecy: ['s1'], integrity: [] },
    { path: '/items/1', kind: 'item', allowed: false, secrecy: ['x'], integrity: [] },
  ],
  filtered: ['/items/1'],
  result: { items: [{ id: 0 }] },
  reason: 'filtered 1 of 2 items the agent may not read',
};

describe('compare', () => {
  it('compares only the fields the expectation names, tag lists as sets', () => {
    expect(compare({}, allowed)).toEqual([]);
    expect(compare({ decision: 'allow', resource: { secrecy: ['s1', 's2'] }, agent: { secrecy: ['s2', 's1'], integrity: ['i'] } }, allowed)).toEqual([]);
    expect(compare({ labels: [{ path: '/items/0', allowed: true }, { path: '/items/1', secrecy: ['x'] }] }, allowed)).toEqual([]);
    expect(compare({ filtered: ['/items/1'], result: { items: [{ id: 0 }] }, reason: 'filtered 1 of 2' }, allowed)).toEqual([]);
  });

  it('names each field that differs, with a diff', () => {
    const mismatches = compare({ decision: 'deny', operation: 'read', resource: { secrecy: ['s1'] }, filtered: [] }, allowed);
    expect(mismatches.map((m) => m.field)).toEqual(['decision', 'resource', 'filtered']);
    expect(mismatches[0]!.diff).toBe("+ actual - expected\n\n+ 'allow'\n- 'deny'");
    expect(mismatches[1]!.diff).toContain("+     's2'");
  });

  it('a missing or extra item label is a difference', () => {
    expect(compare({ labels: [{ path: '/items/0' }] }, allowed).map((m) => m.field)).toEqual(['labels']);
    expect(compare({ labels: [{ path: '/items/0' }, { path: '/items/1' }, { path: '/items/2' }] }, allowed).map((m) => m.field)).toEqual(['labels']);
  });

  it('a reason must contain the expected text', () => {
    expect(compare({ reason: 'denied' }, allowed)).toEqual([{ field: 'reason', diff: expect.stringContaining('expected the reason to contain "denied"') }]);
  });

  it('errors: expected and got, expected and not got, got and not expected', () => {
    const failed = { error: { code: 'WG_ERR_POLICY_REJECTED', message: 'guard g rejected the policy: x' } };
    expect(compare({ error: 'WG_ERR_POLICY_REJECTED' }, failed)).toEqual([]);
    expect(compare({ error: 'WG_ERR_GUARD_TRAP' }, failed)[0]!.field).toBe('error');
    expect(compare({ decision: 'allow' }, failed)).toEqual([{ field: 'error', diff: 'the call failed: WG_ERR_POLICY_REJECTED: guard g rejected the policy: x' }]);
    expect(compare({ error: 'WG_ERR_POLICY_REJECTED' }, allowed)[0]!.diff).toContain('but it gave decision "allow"');
  });
});

describe('findingForCallError', () => {
  it('maps the stable WG_ERR_* codes to check findings with their hints', () => {
    const trap = findingForCallError(new GuardTrapError('unreachable', 'guard g label_resource trapped', { guard: 'g', fn: 'label_resource' }), 'label_resource');
    expect(trap).toEqual({ code: 'WG_CHECK_TRAP', severity: 'error', message: 'guard g label_resource trapped', hint: HINTS.WG_CHECK_TRAP, function: 'label_resource' });
    expect(findingForCallError(new GuardTimeoutError('late'), 'label_agent').code).toBe('WG_CHECK_TIMEOUT');
    expect(findingForCallError(new Error('odd'), 'label_agent').code).toBe('WG_CHECK_CALL_FAILED');
  });

  it('every finding code has a hint and a row in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, hint] of Object.entries(HINTS)) {
      expect(hint.length, code).toBeGreaterThan(20);
      expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\| (error|warning) \\|`, 'm'));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { AuthzenMappingError, stopsAfter, toCall, toDecision, withDefaults } from '../../src/authzen/mapping.js';
import type { CallOutcome } from '../../src/batch/batch-evaluator.js';

const base = { subject: { type: 'agent', id: 'a' }, action: { name: 'read_doc' }, resource: { type: 'static', id: 'r' } };

describe('toCall', () => {
  it('maps each AuthZEN field to its /v1/evaluate field', () => {
    expect(
      toCall({
        subject: { type: 'agent', id: 'bot', properties: { integrity: ['trusted'], department: 'ops' } },
        action: { name: 'get_issue', properties: { method: 'GET' } },
        resource: { type: 'github', id: 'octo-org/app', properties: { owner: 'octo-org', repo: 'app' } },
        context: { policy: { 'allow-only': { repos: 'public' } }, mode: 'filter', time: 'now' },
      }),
    ).toEqual({
      guard: 'github',
      tool: 'get_issue',
      args: { owner: 'octo-org', repo: 'app' },
      agent: { secrecy: [], integrity: ['trusted'] },
      policy: { 'allow-only': { repos: 'public' } },
      mode: 'filter',
    });
  });

  it('a session subject names the session; a subject without labels sends none', () => {
    expect(toCall({ ...base, subject: { type: 'session', id: 'q3W9x1bK0fT7mZ2cYp4LsA' } })).toEqual({ guard: 'static', tool: 'read_doc', session: 'q3W9x1bK0fT7mZ2cYp4LsA' });
    expect(toCall(base)).toEqual({ guard: 'static', tool: 'read_doc' });
  });

  it('refuses what it cannot map, naming the field with its prefix', () => {
    const bad: Array<[object, RegExp]> = [
      [{ ...base, subject: undefined }, /^body\.evaluations\[1\]\.subject is required/],
      [{ ...base, resource: { type: 'static', id: '' } }, /resource\.id/],
      [{ ...base, subject: { type: 'agent', id: 'a', properties: { integrity: [1] } } }, /subject\.properties\.integrity/],
      [{ ...base, context: { mode: 'lenient' } }, /context\.mode/],
      [{ ...base, context: { policy: 'public' } }, /context\.policy/],
    ];
    for (const [evaluation, message] of bad) {
      expect(() => toCall(evaluation, 'body.evaluations[1]')).toThrow(AuthzenMappingError);
      expect(() => toCall(evaluation, 'body.evaluations[1]')).toThrow(message);
    }
  });
});

describe('withDefaults', () => {
  it('a key the item sets replaces the default whole; the others come from the defaults', () => {
    const defaults = { subject: { type: 'agent', id: 'a', properties: { integrity: ['x'] } }, action: { name: 'read' }, context: { mode: 'strict' } };
    expect(withDefaults(defaults, { action: { name: 'edit' }, resource: { type: 'g', id: '1' } })).toEqual({
      subject: defaults.subject,
      action: { name: 'edit' },
      resource: { type: 'g', id: '1' },
      context: { mode: 'strict' },
    });
  });
});

describe('decisions and semantics', () => {
  const evaluated = (decision: 'allow' | 'deny'): CallOutcome => ({
    ok: true,
    guard: 'g',
    evaluated: { decision_id: 'id', guard_digest: 'ab', decision, operation: 'read', resource: { secrecy: [], integrity: [] }, check_response: false, mode: 'strict', agent: { secrecy: [], integrity: [] } },
  });
  const failed: CallOutcome = { ok: false, error: new Error('boom') };
  const describeError = () => ({ status: 502, code: 'WG_ERR_GUARD_TRAP', message: 'trapped' });

  it('allow is true, deny false, an error false with the error in the context', () => {
    expect(toDecision(evaluated('allow'), describeError).decision).toBe(true);
    expect(toDecision(evaluated('deny'), describeError).decision).toBe(false);
    expect(toDecision(failed, describeError)).toEqual({ decision: false, context: { error: { status: 502, code: 'WG_ERR_GUARD_TRAP', message: 'trapped' } } });
  });

  it('deny_on_first_deny stops at a deny or an error; permit_on_first_permit at a permit; execute_all never', () => {
    const deny = stopsAfter('deny_on_first_deny')!;
    expect([deny(evaluated('allow')), deny(evaluated('deny')), deny(failed)]).toEqual([false, true, true]);
    const permit = stopsAfter('permit_on_first_permit')!;
    expect([permit(evaluated('allow')), permit(evaluated('deny')), permit(failed)]).toEqual([true, false, false]);
    expect(stopsAfter('execute_all')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  CompilationCacheClosedError,
  DEFAULT_LIMITS,
  GuardBufferLimitError,
  GuardError,
  guardErrorFromData,
  GuardExitError,
  GuardInputTooLargeError,
  GuardLoadError,
  GuardOutputError,
  GuardOverloadedError,
  GuardPoisonedError,
  GuardPolicyRejectedError,
  GuardPoolClosedError,
  GuardReportedError,
  GuardTimeoutError,
  GuardTrapError,
  GuardUnavailableError,
  resolveLimits,
  retiresInstance,
} from '../../src/guard/index.js';

const trap = new GuardTrapError('exit', 'guard g label_resource exited with WASI proc_exit(3)', {
  guard: 'g',
  fn: 'label_resource',
  exitCode: 3,
  cause: new Error('inner'),
});

const SAMPLES: Array<[GuardError, string, Record<string, unknown>]> = [
  [new GuardError('generic', { guard: 'g' }), 'WG_ERR_GUARD', { guard: 'g' }],
  [new GuardLoadError('guard g: missing required export memory', { guard: 'g' }), 'WG_ERR_GUARD_LOAD', { guard: 'g' }],
  [new CompilationCacheClosedError(), 'WG_ERR_CACHE_CLOSED', {}],
  [new GuardReportedError(-7, { guard: 'g', fn: 'label_response' }), 'WG_ERR_GUARD_REPORTED', { returnCode: -7, guard: 'g', fn: 'label_response' }],
  [new GuardPolicyRejectedError('rejected', { guard: 'g', fn: 'label_agent' }), 'WG_ERR_POLICY_REJECTED', { fn: 'label_agent' }],
  [new GuardOutputError('bad output', { guard: 'g', fn: 'label_resource' }), 'WG_ERR_GUARD_OUTPUT', { fn: 'label_resource' }],
  [new GuardBufferLimitError('too big', { guard: 'g', fn: 'label_resource' }), 'WG_ERR_BUFFER_LIMIT', {}],
  [new GuardInputTooLargeError(9, 8, { guard: 'g', fn: 'label_agent' }), 'WG_ERR_INPUT_TOO_LARGE', { size: 9, limit: 8 }],
  [trap, 'WG_ERR_GUARD_TRAP', { kind: 'exit', exitCode: 3, fn: 'label_resource' }],
  [new GuardTrapError('stack_overflow', 'overflow', { guard: 'g' }), 'WG_ERR_GUARD_TRAP', { kind: 'stack_overflow' }],
  [new GuardExitError('exit 0', { guard: 'g', fn: 'label_agent' }), 'WG_ERR_GUARD_EXIT', { exitCode: 0 }],
  [new GuardTimeoutError('deadline', { guard: 'g' }), 'WG_ERR_GUARD_TIMEOUT', {}],
  [new GuardPoisonedError(trap.toData(), { guard: 'g', fn: 'label_agent' }), 'WG_ERR_GUARD_POISONED', { original: trap.toData() }],
  [new GuardOverloadedError('queue full', 2, { guard: 'g' }), 'WG_ERR_GUARD_OVERLOADED', { retryAfterSeconds: 2 }],
  [new GuardPoolClosedError('closing'), 'WG_ERR_POOL_CLOSED', {}],
  [new GuardUnavailableError('keeps trapping', { guard: 'g' }), 'WG_ERR_GUARD_UNAVAILABLE', {}],
];

describe('typed guard errors', () => {
  it.each(SAMPLES)('%s survives toData / structured clone / guardErrorFromData', (error, code, fields) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(error.constructor.name);
    const data = error.toData();
    expect(data).toMatchObject({ name: error.constructor.name, code, message: error.message, ...fields });
    expect(data).not.toHaveProperty('cause');
    const rebuilt = guardErrorFromData(structuredClone(data));
    expect(rebuilt).toBeInstanceOf(error.constructor);
    expect(rebuilt).toBeInstanceOf(GuardError);
    expect(rebuilt).toBeInstanceOf(Error);
    expect(rebuilt.name).toBe(error.name);
    expect(rebuilt.code).toBe(code);
    expect(rebuilt.message).toBe(error.message);
    expect(rebuilt).toMatchObject(fields);
    expect(rebuilt.guard).toBe(error.guard);
    expect(rebuilt.fn).toBe(error.fn);
    expect(rebuilt.toData()).toEqual(data);
    expect(retiresInstance(rebuilt)).toBe(retiresInstance(error));
  });

  it('names the original trap in the poisoned error', () => {
    const poisoned = new GuardPoisonedError(trap.toData());
    expect(poisoned.message).toBe(`guard instance is poisoned by an earlier GuardTrapError: ${trap.message}`);
  });

  it('rebuilds unknown names as a plain GuardError keeping the message, and an unknown code as WG_ERR_GUARD (502, not 500)', () => {
    const rebuilt = guardErrorFromData({ name: 'SomethingNew', code: 'WG_ERR_NEW', message: 'new', guard: 'g' });
    expect(rebuilt.constructor).toBe(GuardError);
    expect(rebuilt).toMatchObject({ code: 'WG_ERR_GUARD', message: 'new', guard: 'g' });
    expect(guardErrorFromData({ name: 'SomethingNew', code: 'WG_ERR_GUARD_TRAP', message: 'known' }).code).toBe('WG_ERR_GUARD_TRAP');
  });

  it('says which errors retire an instance', () => {
    expect(SAMPLES.filter(([e]) => retiresInstance(e)).map(([e]) => e.name)).toEqual([
      'GuardTrapError',
      'GuardTrapError',
      'GuardExitError',
      'GuardTimeoutError',
    ]);
  });
});

describe('limits', () => {
  it('defaults to the contract values', () => {
    const MiB = 1024 * 1024;
    expect(DEFAULT_LIMITS).toMatchObject({
      maxInputBytes: 8 * MiB,
      initialOutputBytes: 4 * MiB,
      maxOutputBytes: 16 * MiB,
      maxOutputAttempts: 3,
      memoryLimitBytes: 32 * MiB,
      maxBackendCalls: 50,
    });
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it('overrides per guard, ignoring undefined', () => {
    expect(resolveLimits({ maxBackendCalls: 5, maxInputBytes: undefined })).toEqual({ ...DEFAULT_LIMITS, maxBackendCalls: 5 });
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });
});

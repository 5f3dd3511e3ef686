import { beforeAll, describe, expect, it } from 'vitest';
import {
  CompilationCache,
  type BackendCaller,
  type BackendReply,
  type CompiledGuard,
  type GuardLimits,
  type InstanceObserver,
} from '../../src/guard/index.js';
import { guardModule } from '../support/guards.js';
import { createWithExports, g, i32At, type TestExports } from '../support/instance.js';
import { wat } from '../support/wat.js';

const TOOL = 'get_file';
const ARGS = '{"path":"README.md"}';
const TOOL_AT = 0x3000;
const ARGS_AT = 0x3100;
const CODES_AT = 0x4000;
const RES_AT = 0x5000;

/**
 * label_resource calls env.call_backend `times` times with (TOOL, ARGS) and a
 * result buffer at res_ptr/res_cap, keeping every return code at CODES_AT.
 * With `retry` set, a -2 is answered by calling again with the hinted size.
 * Its output is the last backend result (or {}).
 */
const BACKEND_GUARD = guardModule({
  imports: '(import "env" "call_backend" (func $cb (param i32 i32 i32 i32 i32 i32) (result i32)))',
  resource: `
  (data (i32.const ${TOOL_AT}) "${TOOL}")
  (data (i32.const ${ARGS_AT}) "${ARGS.replaceAll('"', '\\"')}")
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (global $times (export "times") (mut i32) (i32.const 1))
  (global $retry (export "retry") (mut i32) (i32.const 0))
  (global $tool_len (export "tool_len") (mut i32) (i32.const ${TOOL.length}))
  (global $args_len (export "args_len") (mut i32) (i32.const ${ARGS.length}))
  (global $res_ptr (export "res_ptr") (mut i32) (i32.const ${RES_AT}))
  (global $res_cap (export "res_cap") (mut i32) (i32.const 0xb000))
  (global $hinted (export "hinted") (mut i32) (i32.const 0))
  (global $last_rc (export "last_rc") (mut i32) (i32.const -100))
  (func $call (param $cap i32) (result i32)
    (call $cb (i32.const ${TOOL_AT}) (global.get $tool_len) (i32.const ${ARGS_AT}) (global.get $args_len) (global.get $res_ptr) (local.get $cap)))
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $i i32) (local $rc i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (block $end (loop $l
      (br_if $end (i32.ge_u (local.get $i) (global.get $times)))
      (local.set $rc (call $call (global.get $res_cap)))
      (if (i32.and (i32.eq (local.get $rc) (i32.const -2)) (global.get $retry))
        (then
          (global.set $hinted (i32.load (global.get $res_ptr)))
          (local.set $rc (call $call (global.get $hinted)))))
      (i32.store (i32.add (i32.const ${CODES_AT}) (i32.shl (local.get $i) (i32.const 2))) (local.get $rc))
      (global.set $last_rc (local.get $rc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (if (i32.ge_s (global.get $last_rc) (i32.const 0))
      (then (memory.copy (local.get $out) (global.get $res_ptr) (global.get $last_rc)) (return (global.get $last_rc))))
    (i32.store16 (local.get $out) (i32.const 0x7d7b))
    (i32.const 2))`,
});

const REPLY = JSON.stringify({ content: 'x'.repeat(200), sha: 'abc' });

function recordingBackend(reply: (tool: string, args: string) => BackendReply = () => ({ ok: true, json: REPLY })) {
  const calls: Array<{ tool: string; args: string }> = [];
  const backend: BackendCaller = {
    call(tool, args) {
      calls.push({ tool, args });
      return reply(tool, args);
    },
  };
  return { backend, calls };
}

const cache = new CompilationCache();
let compiled: CompiledGuard;
beforeAll(async () => {
  compiled = await cache.load(await wat(BACKEND_GUARD), { name: 'fetcher' });
});

function setup(options: { backend?: BackendCaller; limits?: Partial<GuardLimits>; source?: CompiledGuard } = {}) {
  const outcomes: string[] = [];
  const observer: InstanceObserver = { backendCall: (o) => outcomes.push(o) };
  const { instance, exports } = createWithExports(options.source ?? compiled, { backend: options.backend, observer });
  const run = () => new TextDecoder().decode(instance.invoke('label_resource', new TextEncoder().encode('{}')));
  return { instance, exports, outcomes, run };
}

const codes = (exports: TestExports, n: number) => Array.from({ length: n }, (_, i) => i32At(exports, CODES_AT + i * 4));

describe('env.call_backend', () => {
  it('passes tool name and JSON args and writes the result for the guard', () => {
    const { backend, calls } = recordingBackend();
    const { exports, outcomes, run } = setup({ backend });
    expect(run()).toBe(REPLY);
    expect(calls).toEqual([{ tool: TOOL, args: ARGS }]);
    expect(codes(exports, 1)).toEqual([REPLY.length]);
    expect(outcomes).toEqual(['ok']);
  });

  it('accepts replies as bytes', () => {
    const { backend } = recordingBackend(() => ({ ok: true, json: new TextEncoder().encode('{"bytes":true}') }));
    expect(setup({ backend }).run()).toBe('{"bytes":true}');
  });

  it('returns -2 with the needed size when the result does not fit', () => {
    const { backend } = recordingBackend();
    const { exports, outcomes, run } = setup({ backend });
    g(exports, 'res_cap', 8);
    expect(run()).toBe('{}');
    expect(codes(exports, 1)).toEqual([-2]);
    expect(new DataView(exports.memory.buffer).getUint32(RES_AT, true)).toBe(REPLY.length);
    expect(outcomes).toEqual(['too_large']);
  });

  it('serves the retry with the hinted size without calling the backend again', () => {
    const { backend, calls } = recordingBackend();
    const { exports, outcomes, run } = setup({ backend });
    g(exports, 'res_cap', 8);
    g(exports, 'retry', 1);
    expect(run()).toBe(REPLY);
    expect(g(exports, 'hinted')).toBe(REPLY.length);
    expect(calls).toHaveLength(1);
    expect(outcomes).toEqual(['too_large', 'ok']);
  });

  it('calls the backend again for a retry in a later invocation', () => {
    const { backend, calls } = recordingBackend();
    const { exports, run } = setup({ backend });
    g(exports, 'res_cap', 8);
    run();
    g(exports, 'res_cap', 0xb000);
    expect(run()).toBe(REPLY);
    expect(calls).toHaveLength(2);
  });

  it('writes no hint when res_cap is under 4 bytes', () => {
    const { backend } = recordingBackend();
    const { exports, run } = setup({ backend });
    new Uint8Array(exports.memory.buffer, RES_AT, 8).fill(0xab);
    g(exports, 'res_cap', 2);
    run();
    expect(codes(exports, 1)).toEqual([-2]);
    expect([...new Uint8Array(exports.memory.buffer, RES_AT, 8)]).toEqual(Array(8).fill(0xab));
  });

  it('returns -1 when the backend call fails, or throws, without trapping the guard', () => {
    const failing = recordingBackend(() => ({ ok: false }));
    const a = setup({ backend: failing.backend });
    expect(a.run()).toBe('{}');
    expect(codes(a.exports, 1)).toEqual([-1]);
    expect(a.outcomes).toEqual(['error']);

    const throwing = setup({
      backend: {
        call() {
          throw new Error('connection reset');
        },
      },
    });
    expect(throwing.run()).toBe('{}');
    expect(codes(throwing.exports, 1)).toEqual([-1]);
    expect(throwing.instance.poisoned).toBeUndefined();
  });

  it('returns -1 without a configured backend', () => {
    const { exports, run } = setup();
    run();
    expect(codes(exports, 1)).toEqual([-1]);
  });

  it('returns -1 for pointers outside linear memory', () => {
    const { backend, calls } = recordingBackend();
    const { exports, run } = setup({ backend });
    g(exports, 'args_len', 0x7fffffff);
    run();
    expect(codes(exports, 1)).toEqual([-1]);
    expect(calls).toHaveLength(0);
    g(exports, 'args_len', ARGS.length);
    g(exports, 'res_ptr', exports.memory.buffer.byteLength - 10);
    run();
    expect(codes(exports, 1)).toEqual([-1]);
  });

  it('allows 50 calls per invocation; the 51st returns -1; the count restarts with the next invocation', () => {
    const { backend, calls } = recordingBackend(() => ({ ok: true, json: '{}' }));
    const { exports, outcomes, run } = setup({ backend });
    g(exports, 'times', 51);
    run();
    expect(codes(exports, 51)).toEqual([...Array(50).fill(2), -1]);
    expect(calls).toHaveLength(50);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(50);
    expect(outcomes.at(-1)).toBe('limit');

    g(exports, 'times', 1);
    expect(run()).toBe('{}');
    expect(codes(exports, 1)).toEqual([2]);
    expect(calls).toHaveLength(51);
  });

  it('counts the hinted retry as a call and honours a configured limit', async () => {
    const { backend, calls } = recordingBackend();
    const source = await cache.load(await wat(BACKEND_GUARD), { name: 'limited', limits: { maxBackendCalls: 3 } });
    const { exports, run } = setup({ backend, source });
    g(exports, 'times', 2);
    g(exports, 'res_cap', 8);
    g(exports, 'retry', 1);
    run();
    // call 1: -2, call 2 (retry): ok, call 3: -2, call 4 (retry): over the limit.
    expect(codes(exports, 2)).toEqual([REPLY.length, -1]);
    expect(calls).toHaveLength(2);
  });
});

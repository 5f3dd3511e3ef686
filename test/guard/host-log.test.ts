import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CompilationCache, type CompiledGuard, type GuardLimits } from '../../src/guard/index.js';
import { guardModule } from '../support/guards.js';
import { createWithExports, g, recordingLogger, type Level } from '../support/instance.js';
import { wat } from '../support/wat.js';

const SHORT = 'hello from the guard ✓';
const SHORT_AT = 0x3000;
const LONG_AT = 0x4000;
const LONG_LEN = 6000;

/** label_resource logs `times` messages at `level` from msg_ptr/msg_len. */
const LOG_GUARD = guardModule({
  imports: '(import "env" "host_log" (func $log (param i32 i32 i32)))',
  extra: `
  (data (i32.const ${SHORT_AT}) "${[...Buffer.from(SHORT)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}")
  (data (i32.const ${LONG_AT}) "${'b'.repeat(LONG_LEN)}")
  (global $level (export "level") (mut i32) (i32.const 1))
  (global $times (export "times") (mut i32) (i32.const 1))
  (global $msg_ptr (export "msg_ptr") (mut i32) (i32.const ${SHORT_AT}))
  (global $msg_len (export "msg_len") (mut i32) (i32.const ${Buffer.byteLength(SHORT)}))
  (func (export "log_now") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $i i32)
    (block $end (loop $l
      (br_if $end (i32.ge_u (local.get $i) (global.get $times)))
      (call $log (global.get $level) (global.get $msg_ptr) (global.get $msg_len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.const 0))`,
  response: '',
}).replace('(func (export "log_now")', '(func (export "label_response")');

const cache = new CompilationCache();
let compiled: CompiledGuard;
beforeAll(async () => {
  compiled = await cache.load(await wat(LOG_GUARD), { name: 'chatty' });
});

function setup(enabled: Level[] = ['debug', 'info', 'warn', 'error'], source = compiled) {
  const logger = recordingLogger(enabled);
  const { instance, exports } = createWithExports(source, { logger });
  const run = (level: number, times = 1) => {
    g(exports, 'level', level);
    g(exports, 'times', times);
    instance.invoke('label_response', new TextEncoder().encode('{}'));
  };
  return { instance, exports, logger, run };
}

async function withLimits(limits: Partial<GuardLimits>) {
  return cache.load(await wat(LOG_GUARD), { name: 'chatty', limits });
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('env.host_log', () => {
  it('maps guard levels: 0 and 1 to debug, 2 to warn, 3 to error (unknown levels to debug)', () => {
    const { logger, run } = setup();
    for (const level of [0, 1, 2, 3, 9]) run(level);
    expect(logger.records.map((r) => [r.level, r.obj.guardLevel])).toEqual([
      ['debug', 0],
      ['debug', 1],
      ['warn', 2],
      ['error', 3],
      ['debug', 9],
    ]);
    for (const r of logger.records) {
      expect(r.msg).toBe(SHORT);
      expect(r.obj.guard).toBe('chatty');
    }
    expect(logger.at('info')).toEqual([]);
  });

  it('does not decode messages when their level is off', () => {
    const decode = vi.spyOn(TextDecoder.prototype, 'decode');
    const { logger, run } = setup(['warn', 'error']);
    run(0, 500);
    run(1, 500);
    expect(decode).not.toHaveBeenCalled();
    expect(logger.records).toEqual([]);
    expect(logger.levelChecks.every((l) => l === 'debug')).toBe(true);
    run(2, 3);
    expect(decode).toHaveBeenCalledTimes(3);
    expect(logger.at('warn')).toHaveLength(3);
  });

  it('truncates long messages and says how long they were', () => {
    const { exports, logger, run } = setup();
    g(exports, 'msg_ptr', LONG_AT);
    g(exports, 'msg_len', LONG_LEN);
    run(2);
    expect(logger.records).toHaveLength(1);
    expect(logger.records[0]!.msg).toBe('b'.repeat(4096));
    expect(logger.records[0]!.obj.truncatedFrom).toBe(LONG_LEN);
  });

  it('truncates at a configured size', async () => {
    const { exports, logger, run } = setup(undefined, await withLimits({ maxLogMessageBytes: 16 }));
    run(3);
    expect(logger.records[0]!.msg).toBe(Buffer.from(SHORT).subarray(0, 16).toString());
    expect(logger.records[0]!.obj.truncatedFrom).toBe(Buffer.byteLength(SHORT));
    g(exports, 'msg_len', 5);
    run(3);
    expect(logger.records[1]!.msg).toBe('hello');
    expect(logger.records[1]!.obj).not.toHaveProperty('truncatedFrom');
  });

  it('limits a flood to the rate and reports the dropped count once the next second starts', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { logger, run } = setup();
    run(2, 1000);
    expect(logger.records).toHaveLength(100);
    vi.setSystemTime(1_001_000);
    run(2, 1000);
    const dropped = logger.records.filter((r) => r.msg === 'guard log messages dropped by the rate limit');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.obj).toMatchObject({ guard: 'chatty', dropped: 900 });
    expect(logger.records.filter((r) => r.msg === SHORT)).toHaveLength(200);
  });

  it('applies a configured rate, per instance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(5_000_000);
    const source = await withLimits({ maxLogMessagesPerSecond: 5 });
    const a = setup(undefined, source);
    const b = setup(undefined, source);
    a.run(3, 50);
    b.run(3, 50);
    expect(a.logger.records).toHaveLength(5);
    expect(b.logger.records).toHaveLength(5);
  });

  it('ignores messages outside linear memory without trapping', () => {
    const { instance, exports, logger, run } = setup();
    g(exports, 'msg_ptr', 0x7ffffff0);
    run(3);
    g(exports, 'msg_ptr', -1);
    run(3);
    expect(logger.records).toEqual([]);
    expect(instance.poisoned).toBeUndefined();
  });
});

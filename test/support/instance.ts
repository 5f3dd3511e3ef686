/**
 * Test access to a guard instance's own exports (counter globals, memory), so
 * tests can observe from the guard's side what the host did: how often a
 * function was entered, how many buffers are still allocated, what it wrote.
 */
import {
  CompilationCache,
  GuardInstance,
  type CompiledGuard,
  type GuardLimits,
  type GuardLogger,
  type InstanceOptions,
} from '../../src/guard/index.js';
import { wat } from './wat.js';

export type TestExports = Record<string, unknown> & { memory: WebAssembly.Memory };

/**
 * Creates a GuardInstance and captures the WebAssembly.Instance it makes, by
 * wrapping the WebAssembly.Instance constructor for the duration of the call.
 */
export function createWithExports(
  compiled: CompiledGuard,
  options: InstanceOptions = {},
): { instance: GuardInstance; exports: TestExports } {
  const Original = WebAssembly.Instance;
  let captured: WebAssembly.Instance | undefined;
  (WebAssembly as { Instance: unknown }).Instance = new Proxy(Original, {
    construct(target, args) {
      const made = Reflect.construct(target, args) as WebAssembly.Instance;
      captured = made;
      return made;
    },
  });
  try {
    const instance = GuardInstance.create(compiled, options);
    if (!captured) throw new Error('no WebAssembly.Instance was created');
    return { instance, exports: captured.exports as TestExports };
  } finally {
    (WebAssembly as { Instance: unknown }).Instance = Original;
  }
}

/** Reads (or, with a value, sets) an exported global. */
export function g(exports: TestExports, name: string, value?: number): number {
  const global = exports[name];
  if (!(global instanceof WebAssembly.Global)) throw new Error(`export ${name} is not a global`);
  if (value !== undefined) global.value = value;
  return global.value as number;
}

export function readText(exports: TestExports, ptr: number, len: number): string {
  return Buffer.from(new Uint8Array(exports.memory.buffer, ptr, len)).toString('utf8');
}

export function i32At(exports: TestExports, ptr: number): number {
  return new DataView(exports.memory.buffer).getInt32(ptr, true);
}

/** Compiles WAT and loads it into a cache (a fresh one unless given). */
export async function loadWat(
  source: string,
  options: { name?: string; limits?: Partial<GuardLimits>; cache?: CompilationCache } = {},
): Promise<CompiledGuard> {
  const cache = options.cache ?? new CompilationCache();
  return cache.load(await wat(source), { name: options.name ?? 'test-guard', limits: options.limits });
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
export interface LogRecord {
  level: Level;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A GuardLogger that keeps what it is given; only the listed levels are enabled. */
export function recordingLogger(enabled: Level[] = ['debug', 'info', 'warn', 'error']): GuardLogger & {
  records: LogRecord[];
  levelChecks: string[];
  at(level: Level): LogRecord[];
} {
  const records: LogRecord[] = [];
  const levelChecks: string[] = [];
  const log = (level: Level) => (obj: object, msg?: string) => {
    if (enabled.includes(level)) records.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return {
    records,
    levelChecks,
    at: (level) => records.filter((r) => r.level === level),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    isLevelEnabled(level: string) {
      levelChecks.push(level);
      return enabled.includes(level as Level);
    },
  };
}

export const MiB = 1024 * 1024;

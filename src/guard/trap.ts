import { GuardError, GuardExitError, GuardTrapError, type GuardFunction, type TrapKind } from './errors.js';
import { WasiExit } from './host/wasi.js';

// Messages differ between Node versions, so they only refine the kind of a
// RuntimeError; whether something is a trap is decided by its type.
const RUNTIME_KINDS: Array<[RegExp, TrapKind]> = [
  [/unreachable/i, 'unreachable'],
  [/out of bounds|out-of-bounds/i, 'out_of_bounds'],
  [/divi(de|sion) by zero|remainder by zero/i, 'divide_by_zero'],
];

/**
 * Turns whatever a guard call threw into a typed error. Called only for
 * exceptions that escaped the wasm call itself: host functions never throw
 * (they return -1), except proc_exit's WasiExit.
 */
export function classifyCallFailure(
  error: unknown,
  context: { guard: string; fn: GuardFunction; memoryAtCap: boolean },
): GuardError {
  const { guard, fn } = context;
  if (error instanceof GuardError) return error;
  if (error instanceof WasiExit) {
    if (error.code === 0) {
      return new GuardExitError(`guard ${guard} ${fn} called WASI proc_exit(0) and produced no output`, { guard, fn });
    }
    return new GuardTrapError('exit', `guard ${guard} ${fn} exited with WASI proc_exit(${error.code})`, {
      guard,
      fn,
      exitCode: error.code,
    });
  }
  if (error instanceof WebAssembly.RuntimeError) {
    let kind: TrapKind = RUNTIME_KINDS.find(([re]) => re.test(error.message))?.[1] ?? 'runtime';
    // An allocator that hits the cap aborts with unreachable; say why.
    if (kind === 'unreachable' && context.memoryAtCap) kind = 'memory';
    const why = kind === 'memory' ? ' with linear memory at or near its cap' : '';
    return new GuardTrapError(kind, `guard ${guard} ${fn} trapped (${kind})${why}: ${error.message}`, { guard, fn, cause: error });
  }
  if (error instanceof RangeError) {
    // V8 reports wasm stack exhaustion as a RangeError, not a RuntimeError.
    return new GuardTrapError('stack_overflow', `guard ${guard} ${fn} trapped (stack_overflow): ${error.message}`, {
      guard,
      fn,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GuardTrapError('host', `guard ${guard} ${fn} failed in the host: ${message}`, { guard, fn, cause: error });
}

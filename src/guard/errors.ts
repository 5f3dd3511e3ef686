/**
 * Typed guard errors with stable codes (under `WasmGuardError`): the HTTP
 * layer maps `code` to a status (`http/error-status.ts`), metrics use `kind`,
 * and nothing has to parse a message. Every class survives a trip through a worker boundary as
 * plain data ({ name, code, message, ...fields }) and is rebuilt by
 * `guardErrorFromData`.
 */

import { ERROR_CODES, WasmGuardError, type ErrorCode } from '../errors.js';

export type GuardFunction = 'label_agent' | 'label_resource' | 'label_response';

export const GUARD_FUNCTIONS: readonly GuardFunction[] = ['label_agent', 'label_resource', 'label_response'];

/** How an instance stopped: the `kind` label of wasmguard_traps_total. */
export type TrapKind =
  | 'unreachable'
  | 'out_of_bounds'
  | 'stack_overflow'
  | 'divide_by_zero'
  | 'runtime'
  | 'exit'
  | 'host'
  | 'deadline'
  | 'memory';

export interface GuardErrorData {
  name: string;
  code: string;
  message: string;
  guard?: string;
  fn?: GuardFunction;
  [field: string]: unknown;
}

export class GuardError extends WasmGuardError {
  readonly code: ErrorCode = 'WG_ERR_GUARD';
  guard?: string;
  fn?: GuardFunction;

  constructor(message: string, options?: { guard?: string; fn?: GuardFunction; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.guard = options?.guard;
    this.fn = options?.fn;
  }

  toData(): GuardErrorData {
    const data: GuardErrorData = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (value !== undefined && key !== 'cause') data[key] = value;
    }
    return data;
  }
}

/** The module is not a usable guard (bad exports, signatures, imports, bytes). */
export class GuardLoadError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_LOAD';
}

/** The compilation cache was closed; nothing may be compiled or instantiated from it. */
export class CompilationCacheClosedError extends GuardError {
  override readonly code = 'WG_ERR_CACHE_CLOSED';
  constructor() {
    super('compilation cache is closed');
  }
}

/** The guard returned a negative code other than -2: it refused, it did not crash. */
export class GuardReportedError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_REPORTED';
  constructor(
    readonly returnCode: number,
    options: { guard?: string; fn: GuardFunction },
  ) {
    super(`guard ${options.guard ?? '?'} ${options.fn} returned error code ${returnCode}`, options);
  }
}

/** label_agent refused the policy (rejection object or negative code). */
export class GuardPolicyRejectedError extends GuardError {
  override readonly code = 'WG_ERR_POLICY_REJECTED';
}

/** The guard's output is not JSON or not the shape its function must return. */
export class GuardOutputError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_OUTPUT';
}

/** The guard needs a bigger output buffer than the limits allow, or its memory has no room left for the call's buffers. */
export class GuardBufferLimitError extends GuardError {
  override readonly code = 'WG_ERR_BUFFER_LIMIT';
  /**
   * The call's buffers could not be placed in this instance's memory (it
   * is at the cap): a fresh instance may well have room. Set only then.
   */
  placement?: true;
}

/** The instance's memory has no room left for a call's buffers; a fresh instance may have it. */
export function isPlacementFailure(error: unknown): boolean {
  return error instanceof GuardBufferLimitError && error.placement === true;
}

/** The JSON input is over the input limit; refused before the guard sees it. */
export class GuardInputTooLargeError extends GuardError {
  override readonly code = 'WG_ERR_INPUT_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly limit: number,
    options: { guard?: string; fn: GuardFunction },
  ) {
    super(`input to ${options.fn} is ${size} bytes, over the guard input limit of ${limit} bytes`, options);
  }
}

/** The instance crashed; it is poisoned and must be replaced. */
export class GuardTrapError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_TRAP';
  constructor(
    readonly kind: TrapKind,
    message: string,
    options?: { guard?: string; fn?: GuardFunction; cause?: unknown; exitCode?: number },
  ) {
    super(message, options);
    if (options?.exitCode !== undefined) this.exitCode = options.exitCode;
  }
  exitCode?: number;
}

/** The guard called WASI proc_exit(0): not a crash, but the call has no output and the instance retires. */
export class GuardExitError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_EXIT';
  readonly exitCode = 0;
}

/** The call overran its deadline; the worker running it was terminated. */
export class GuardTimeoutError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_TIMEOUT';
}

/** A call reached an instance that stopped earlier; names what stopped it. */
export class GuardPoisonedError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_POISONED';
  constructor(
    readonly original: GuardErrorData,
    options?: { guard?: string; fn?: GuardFunction },
  ) {
    super(`guard instance is poisoned by an earlier ${original.name}: ${original.message}`, options);
  }
}

/** The pool cannot take the call now (queue full, wait timeout, closing). */
export class GuardOverloadedError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_OVERLOADED';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { guard?: string },
  ) {
    super(message, options);
  }
}

/** The pool is closed or closing. */
export class GuardPoolClosedError extends GuardError {
  override readonly code = 'WG_ERR_POOL_CLOSED';
}

/** The guard has no live instance and cannot start one (it keeps trapping). */
export class GuardUnavailableError extends GuardError {
  override readonly code = 'WG_ERR_GUARD_UNAVAILABLE';
}

const ERROR_CLASSES: Record<string, new (...args: never[]) => GuardError> = {
  GuardError,
  GuardLoadError,
  CompilationCacheClosedError,
  GuardReportedError,
  GuardPolicyRejectedError,
  GuardOutputError,
  GuardBufferLimitError,
  GuardInputTooLargeError,
  GuardTrapError,
  GuardExitError,
  GuardTimeoutError,
  GuardPoisonedError,
  GuardOverloadedError,
  GuardPoolClosedError,
  GuardUnavailableError,
};

/** Rebuilds a typed error from `toData()` output (e.g. after postMessage). */
export function guardErrorFromData(data: GuardErrorData): GuardError {
  const Class = ERROR_CLASSES[data.name] ?? GuardError;
  const error = Object.create(Class.prototype) as GuardError;
  const { name: _name, message: _message, code: _code, ...fields } = data;
  Object.assign(error, fields);
  Object.defineProperty(error, 'message', { value: data.message, enumerable: false, writable: true });
  // A code the service does not know (never sent by our workers) stays a guard failure: 502, not 500.
  const code = (ERROR_CODES as readonly string[]).includes(data.code) ? data.code : 'WG_ERR_GUARD';
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error;
}

/** Whether the error means the instance can never serve again. */
export function retiresInstance(error: unknown): boolean {
  return error instanceof GuardTrapError || error instanceof GuardExitError || error instanceof GuardTimeoutError;
}

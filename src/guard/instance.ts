import type { ResponseLabelling } from '../difc/types.js';
import type { CompiledGuard } from './compilation-cache.js';
import {
  GuardBufferLimitError,
  GuardError,
  GuardInputTooLargeError,
  GuardLoadError,
  GuardOutputError,
  GuardPoisonedError,
  GuardPolicyRejectedError,
  GuardReportedError,
  retiresInstance,
  type GuardErrorData,
  type GuardFunction,
} from './errors.js';
import {
  inputJson,
  parseAgentOutput,
  parseResourceOutput,
  parseResponseOutput,
  type AgentLabelling,
  type ResourceLabelling,
} from './guard-json.js';
import { createCallBackend, noBackend, type BackendCaller } from './host/backend.js';
import { createHostLog, createLogBudget } from './host/log.js';
import { createWasi } from './host/wasi.js';
import { silentLogger, type GuardLogger } from './logger.js';
import { classifyCallFailure } from './trap.js';
import { WASM_PAGE_BYTES } from './wasm-binary.js';

/** What an instance reports about itself, for metrics. */
export interface InstanceObserver {
  regrowth?(fn: GuardFunction, how: 'hinted' | 'doubled'): void;
  backendCall?(outcome: 'ok' | 'error' | 'too_large' | 'limit'): void;
}

export interface InstanceOptions {
  logger?: GuardLogger;
  backend?: BackendCaller;
  observer?: InstanceObserver;
}

/** The part of CompiledGuard an instance needs; plain data plus a Module, so it can be posted to a worker. */
export type InstanceSource = Pick<CompiledGuard, 'name' | 'digest' | 'module' | 'shape' | 'limits'>;

type LabelFn = (inPtr: number, inLen: number, outPtr: number, outCap: number) => number;

interface GuardExports {
  memory: WebAssembly.Memory;
  label_agent: LabelFn;
  label_resource: LabelFn;
  label_response: LabelFn;
  alloc?: (size: number) => number;
  dealloc?: (ptr: number, size: number) => void;
  _initialize?: () => void;
}

const encoder = new TextEncoder();
/** Guards already warned about the direct-memory fallback, per thread: the warning is once per guard. */
const warnedDirectMemory = new Set<string>();

/**
 * One instance of a guard and the call protocol of docs/contract.md §2. It is
 * synchronous (it runs inside a worker, where blocking is the point) and keeps
 * no promise of recovery: after a trap or an exit it refuses every call and
 * names what stopped it.
 */
export class GuardInstance {
  readonly guard: string;
  readonly #source: InstanceSource;
  readonly #exports: GuardExports;
  readonly #logger: GuardLogger;
  readonly #observer: InstanceObserver;
  readonly #backend: ReturnType<typeof createCallBackend>;
  /** Absent for guards that import no WASI function. */
  readonly #wasi: ReturnType<typeof createWasi> | undefined;
  #poison: GuardErrorData | undefined;
  /** Host-owned buffer region at the end of memory, for guards without alloc/dealloc. */
  #region: { start: number; end: number } | undefined;

  private constructor(source: InstanceSource, options: InstanceOptions) {
    this.guard = source.name;
    this.#source = source;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer ?? {};
    const memory = () => this.#exports.memory;
    this.#backend = createCallBackend({
      backend: options.backend ?? noBackend,
      maxCalls: source.limits.maxBackendCalls,
      memory,
      onCall: this.#observer.backendCall,
    });
    // One budget of log lines per instance, whichever way the guard writes them.
    const budget = createLogBudget({ guard: source.name, logger: this.#logger, maxMessagesPerSecond: source.limits.maxLogMessagesPerSecond });
    const wasi = (this.#wasi = source.shape.wasiImports.length > 0
      ? createWasi({ guard: source.name, logger: this.#logger, memory, names: source.shape.wasiImports, budget })
      : undefined);
    const imports: WebAssembly.Imports = {
      env: {
        call_backend: this.#backend.callBackend,
        host_log: createHostLog({
          guard: source.name,
          logger: this.#logger,
          maxMessageBytes: source.limits.maxLogMessageBytes,
          maxMessagesPerSecond: source.limits.maxLogMessagesPerSecond,
          memory,
          budget,
        }),
      },
      ...(wasi ? { wasi_snapshot_preview1: wasi.imports } : {}),
    };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(source.module, imports);
    } catch (error) {
      throw new GuardLoadError(`guard ${source.name}: instantiation failed: ${(error as Error).message}`, {
        guard: source.name,
        cause: error,
      });
    }
    // WASI reads this.#exports.memory from here on: Rust wasm32-wasi guards
    // call random_get and fd_write from their first call even without _initialize.
    this.#exports = instance.exports as unknown as GuardExports;
    try {
      this.#exports._initialize?.();
    } catch (error) {
      const cause = classifyCallFailure(error, { guard: source.name, fn: 'label_agent', memoryAtCap: false });
      throw new GuardLoadError(`guard ${source.name}: _initialize failed: ${cause.message}`, { guard: source.name, cause });
    } finally {
      wasi?.flush();
    }
  }

  static create(source: InstanceSource, options: InstanceOptions = {}): GuardInstance {
    return new GuardInstance(source, options);
  }

  /** What stopped this instance, if anything did. */
  get poisoned(): GuardErrorData | undefined {
    return this.#poison;
  }

  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  labelAgent(policy: unknown): AgentLabelling {
    return parseAgentOutput(this.applyPolicy(encoder.encode(inputJson({ fn: 'label_agent', policy }))), this.guard);
  }

  /**
   * Runs label_agent with the policy JSON and returns its raw output once it
   * is known to accept the policy: the instance now labels under it.
   */
  applyPolicy(policyJson: Uint8Array): Uint8Array {
    try {
      const output = this.invoke('label_agent', policyJson);
      parseAgentOutput(output, this.guard);
      return output;
    } catch (error) {
      // A negative return from label_agent is the guard refusing the policy.
      if (error instanceof GuardReportedError) {
        throw new GuardPolicyRejectedError(`guard ${this.guard} rejected the policy (label_agent returned ${error.returnCode})`, {
          guard: this.guard,
          fn: 'label_agent',
        });
      }
      throw error;
    }
  }

  labelResource(tool: string, args: unknown): ResourceLabelling {
    const input = encoder.encode(inputJson({ fn: 'label_resource', tool, args }));
    return parseResourceOutput(this.invoke('label_resource', input), this.guard);
  }

  labelResponse(tool: string, result: unknown, args: unknown): ResponseLabelling {
    const input = encoder.encode(inputJson({ fn: 'label_response', tool, args, result }));
    return parseResponseOutput(this.invoke('label_response', input), this.guard);
  }

  /**
   * Raw call: input JSON bytes in, output JSON bytes out (a copy: linear
   * memory is freed and may be reused as soon as this returns).
   */
  invoke(fn: GuardFunction, input: Uint8Array): Uint8Array {
    const guard = this.guard;
    if (this.#poison) throw new GuardPoisonedError(this.#poison, { guard, fn });
    const { limits } = this.#source;
    if (input.length > limits.maxInputBytes) {
      throw new GuardInputTooLargeError(input.length, limits.maxInputBytes, { guard, fn });
    }
    this.#backend.reset();
    try {
      return this.#source.shape.hasAllocator ? this.#invokeWithAllocator(fn, input) : this.#invokeDirect(fn, input);
    } catch (error) {
      const failure = classifyCallFailure(error, { guard, fn, memoryAtCap: this.#memoryAtCap() });
      if (retiresInstance(failure)) this.#poison = failure.toData();
      throw failure;
    } finally {
      // Output without a final newline (a panic message before the abort) is logged with its call.
      this.#wasi?.flush();
    }
  }

  /**
   * Whether memory is at or near the cap: an allocator fails when its request
   * (often a chunk of a MiB or more) no longer fits, not only on the last
   * page, so "near" is the last eighth of the cap (at least one page).
   */
  #memoryAtCap(): boolean {
    const limit = this.#source.limits.memoryLimitBytes;
    return limit - this.#exports.memory.buffer.byteLength < Math.max(WASM_PAGE_BYTES, limit / 8);
  }

  #invokeWithAllocator(fn: GuardFunction, input: Uint8Array): Uint8Array {
    const alloc = this.#exports.alloc!;
    const dealloc = this.#exports.dealloc!;
    const inLen = input.length;
    const inPtr = this.#allocate(alloc, inLen, fn, 'input');
    new Uint8Array(this.#exports.memory.buffer, inPtr, inLen).set(input);
    // Once the guard traps it is never called again, dealloc included. Our
    // own GuardErrors (error code, bad length, buffer limit) are not traps:
    // their buffers are freed like on success.
    let trapped = false;
    const note = (error: unknown) => {
      if (!(error instanceof GuardError)) trapped = true;
      return error;
    };
    try {
      return this.#callWithRegrowth(fn, (cap, call) => {
        const outPtr = this.#allocate(alloc, cap, fn, 'output');
        try {
          return call(inPtr, inLen, outPtr);
        } catch (error) {
          throw note(error);
        } finally {
          if (!trapped) dealloc(outPtr, cap);
        }
      });
    } catch (error) {
      // Also a trap in alloc (e.g. an allocator aborting at the memory cap) or in dealloc.
      throw note(error);
    } finally {
      if (!trapped) dealloc(inPtr, inLen);
    }
  }

  #allocate(alloc: (size: number) => number, size: number, fn: GuardFunction, what: string): number {
    const ptr = alloc(size) >>> 0;
    if (ptr === 0 || ptr + size > this.#exports.memory.buffer.byteLength) {
      const error = new GuardBufferLimitError(
        `guard ${this.guard}: alloc(${size}) for the ${fn} ${what} buffer returned ${ptr === 0 ? 'null' : `out-of-bounds pointer ${ptr}`}`,
        { guard: this.guard, fn },
      );
      // A null from an allocator whose memory is at the cap: the instance has filled its memory.
      if (ptr === 0 && this.#memoryAtCap()) error.placement = true;
      throw error;
    }
    return ptr;
  }

  #invokeDirect(fn: GuardFunction, input: Uint8Array): Uint8Array {
    if (!warnedDirectMemory.has(this.#source.digest)) {
      warnedDirectMemory.add(this.#source.digest);
      this.#logger.warn(
        { guard: this.guard },
        'guard exports no alloc/dealloc: call buffers are placed at the end of linear memory, which may overlap the guard heap',
      );
    }
    const inLen = input.length;
    const outOffset = (inLen + 7) & ~7;
    return this.#callWithRegrowth(fn, (cap, call) => {
      const start = this.#directRegion(outOffset + cap, fn);
      new Uint8Array(this.#exports.memory.buffer, start, inLen).set(input);
      return call(start, inLen, start + outOffset);
    });
  }

  /** Reuses the host region while it is still the end of memory and big enough, else grows memory. */
  #directRegion(size: number, fn: GuardFunction): number {
    const memory = this.#exports.memory;
    const end = memory.buffer.byteLength;
    const region = this.#region;
    if (region && region.end === end && region.end - region.start >= size) return region.start;
    const pages = Math.ceil(size / WASM_PAGE_BYTES);
    try {
      memory.grow(pages);
    } catch {
      const error = new GuardBufferLimitError(
        `guard ${this.guard}: cannot grow memory by ${pages * WASM_PAGE_BYTES} bytes for the ${fn} buffers ` +
          `within the memory limit of ${this.#source.limits.memoryLimitBytes} bytes`,
        { guard: this.guard, fn },
      );
      error.placement = true;
      throw error;
    }
    this.#region = { start: end, end: memory.buffer.byteLength };
    return end;
  }

  /**
   * The -2 protocol: start at the initial output size, grow to the guard's
   * hint (or double) up to the ceiling, at most maxOutputAttempts calls.
   */
  #callWithRegrowth(
    fn: GuardFunction,
    attempt: (cap: number, call: (inPtr: number, inLen: number, outPtr: number) => Uint8Array | number) => Uint8Array | number,
  ): Uint8Array {
    const { limits } = this.#source;
    const guardFn = this.#exports[fn];
    let cap = limits.initialOutputBytes;
    for (let n = 1; ; n++) {
      const capNow = cap;
      const result = attempt(capNow, (inPtr, inLen, outPtr) => {
        const rc = guardFn(inPtr, inLen, outPtr, capNow);
        if (rc >= 0) {
          if (rc > capNow) {
            throw new GuardOutputError(`guard ${this.guard} ${fn} returned length ${rc}, larger than its ${capNow}-byte output buffer`, {
              guard: this.guard,
              fn,
            });
          }
          return this.#exports.memory.buffer.slice(outPtr, outPtr + rc) as unknown as Uint8Array;
        }
        if (rc !== -2) throw new GuardReportedError(rc, { guard: this.guard, fn });
        return capNow >= 4 ? new DataView(this.#exports.memory.buffer).getUint32(outPtr, true) : 0;
      });
      if (typeof result !== 'number') return new Uint8Array(result);
      const hinted = result > capNow;
      const next = hinted ? result : capNow * 2;
      if (next > limits.maxOutputBytes) {
        throw new GuardBufferLimitError(
          `guard ${this.guard} ${fn} needs a ${next}-byte output buffer (${hinted ? 'its hint' : 'doubled'}), over the limit of ${limits.maxOutputBytes} bytes`,
          { guard: this.guard, fn },
        );
      }
      if (n >= limits.maxOutputAttempts) {
        throw new GuardBufferLimitError(
          `guard ${this.guard} ${fn} still needs a bigger output buffer after ${n} attempts (last size ${capNow} bytes)`,
          { guard: this.guard, fn },
        );
      }
      this.#observer.regrowth?.(fn, hinted ? 'hinted' : 'doubled');
      cap = next;
    }
  }
}


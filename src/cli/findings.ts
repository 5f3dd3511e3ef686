import type { AbiProblemCode } from '../guard/validate.js';

/**
 * The finding codes of `wasmguard check`. They are stable: scripts match on
 * them, and the README lists them. Each comes with the hint printed next to
 * it; the message says what is wrong in this module, the hint how to fix it.
 */
export type FindingCode =
  | AbiProblemCode
  | 'WG_CHECK_UNREADABLE'
  | 'WG_CHECK_NOT_WASM'
  | 'WG_CHECK_START_EXPORT'
  | 'WG_CHECK_MEMORY_LIMIT'
  | 'WG_CHECK_DIGEST_MISMATCH'
  | 'WG_CHECK_COMPILE'
  | 'WG_CHECK_INSTANTIATE'
  | 'WG_CHECK_TRAP'
  | 'WG_CHECK_TIMEOUT'
  | 'WG_CHECK_EXIT'
  | 'WG_CHECK_ERROR_CODE'
  | 'WG_CHECK_OUTPUT'
  | 'WG_CHECK_BUFFER_LIMIT'
  | 'WG_CHECK_RESPONSE_LABELS'
  | 'WG_CHECK_CALL_FAILED';

export type Severity = 'error' | 'warning';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  hint: string;
  /** The label function whose call produced it (runtime findings). */
  function?: string;
}

const LIBRARY_BUILD = 'Rust `crate-type = ["cdylib"]` for wasm32-wasip1, TinyGo `-buildmode=c-shared`, AssemblyScript exports from its entry file';

export const HINTS: Record<FindingCode, string> = {
  WG_CHECK_UNREADABLE: 'pass the path of the .wasm file your build wrote',
  WG_CHECK_NOT_WASM: 'pass a core WebAssembly module (magic \\0asm, version 1), not a component, text format or archive',
  WG_CHECK_COMMAND_MODULE: `exports \`_start\`: build it as a library — ${LIBRARY_BUILD}`,
  WG_CHECK_MISSING_EXPORT:
    'export label_agent, label_resource and label_response by these names (Rust `#[no_mangle] pub extern "C" fn`, TinyGo `//export`, AssemblyScript `export function`)',
  WG_CHECK_EXPORT_SIGNATURE:
    'label functions are (in_ptr, in_len, out_ptr, out_cap: i32) -> i32, alloc(size: i32) -> i32, dealloc(ptr: i32, size: i32); use 32-bit integers, not i64',
  WG_CHECK_MISSING_MEMORY: 'export the linear memory as "memory" (the toolchains do by default; drop --import-memory or a renamed export)',
  WG_CHECK_ALLOC_PAIR: 'export alloc and dealloc together, or neither (the host then writes into memory it reserves itself)',
  WG_CHECK_INITIALIZE_SIGNATURE: '_initialize is the WASI reactor constructor: a function with no parameters and no results',
  WG_CHECK_UNKNOWN_IMPORT:
    'the host offers only env.call_backend, env.host_log and wasi_snapshot_preview1.*; AssemblyScript: `--use abort=<your function>` instead of env.abort; Rust: no wasm-bindgen',
  WG_CHECK_IMPORT_SIGNATURE:
    'declare env.call_backend(tool_ptr, tool_len, args_ptr, args_len, res_ptr, res_cap: i32) -> i32 and env.host_log(level, ptr, len: i32); WASI imports must be functions',
  WG_CHECK_SHARED_MEMORY: 'build without threads (no `+atomics,+shared-memory`, no -pthread): each instance runs on one thread',
  WG_CHECK_START_EXPORT: `the host never runs \`_start\`, so nothing may depend on main; build it as a library — ${LIBRARY_BUILD}`,
  WG_CHECK_MEMORY_LIMIT:
    'lower the initial memory (Rust `-C link-arg=--initial-memory=N`, AssemblyScript `--initialMemory`) or raise memoryLimitMb for this guard; wasm64 is not supported',
  WG_CHECK_DIGEST_MISMATCH: 'the file is not the build the configuration pins: rebuild it, or update the sha256 in the config',
  WG_CHECK_COMPILE: 'V8 refused the code: rebuild with a released toolchain and without WebAssembly proposals Node does not enable by default',
  WG_CHECK_INSTANTIATE:
    'the module failed while starting: its start function or _initialize trapped, or it imports a WASI function node:wasi does not have',
  WG_CHECK_TRAP: 'the function crashed on a neutral input (no policy, tool "wasmguard_check", empty args and result): label unknown input instead of panicking',
  WG_CHECK_TIMEOUT: 'the call overran the deadline on a neutral input: look for a loop that does not end on empty input (the service would terminate the worker)',
  WG_CHECK_EXIT: 'the guard called proc_exit: return a negative code for an error instead of exiting',
  WG_CHECK_ERROR_CODE: 'a guard should label what it does not know (e.g. as a write) rather than fail; return -2 only with the needed size at out_ptr',
  WG_CHECK_OUTPUT: 'write the JSON of docs/contract.md §2 for this function; the message names the field that is wrong',
  WG_CHECK_BUFFER_LIMIT: 'answer -2 with the exact size needed (u32 LE at out_ptr) and write the output on the retry; keep it under maxOutputBytes',
  WG_CHECK_RESPONSE_LABELS: 'label only paths that exist in the result (RFC 6901 pointers such as /items/0), and items_path only at an array',
  WG_CHECK_CALL_FAILED: 'the call failed in the host; the message says how',
};

export function finding(code: FindingCode, message: string, extra: { severity?: Severity; function?: string } = {}): Finding {
  return { code, severity: extra.severity ?? 'error', message, hint: HINTS[code], ...(extra.function ? { function: extra.function } : {}) };
}

/** A guard call's error, by its stable WG_ERR_* code, as a finding. */
export function findingForCallError(error: unknown, fn: string): Finding {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const byCode: Record<string, FindingCode> = {
    WG_ERR_GUARD_TRAP: 'WG_CHECK_TRAP',
    WG_ERR_GUARD_TIMEOUT: 'WG_CHECK_TIMEOUT',
    WG_ERR_GUARD_EXIT: 'WG_CHECK_EXIT',
    WG_ERR_GUARD_REPORTED: 'WG_CHECK_ERROR_CODE',
    WG_ERR_GUARD_OUTPUT: 'WG_CHECK_OUTPUT',
    WG_ERR_INVALID_LABEL: 'WG_CHECK_OUTPUT',
    WG_ERR_BUFFER_LIMIT: 'WG_CHECK_BUFFER_LIMIT',
    WG_ERR_RESPONSE_LABELS: 'WG_CHECK_RESPONSE_LABELS',
    WG_ERR_JSON_POINTER: 'WG_CHECK_RESPONSE_LABELS',
  };
  return finding((typeof code === 'string' && byCode[code]) || 'WG_CHECK_CALL_FAILED', message, { function: fn });
}

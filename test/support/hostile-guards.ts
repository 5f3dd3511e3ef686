/**
 * A hostile guard: label_resource misbehaves in the way the first letter of
 * the tool name selects (the host's input starts `{"tool_name":"`, so that
 * letter is input byte 14), and labels normally for any other tool. Built in
 * two forms, with alloc/dealloc and without (buffers at the end of memory),
 * so every fault runs on both of the host's call paths.
 */
import { ALLOCATOR, guardModule, RESOURCE_JSON } from './guards.js';

export interface Fault {
  /** The tool name that sets it off. */
  tool: string;
  what: string;
  status: number;
  code: string;
}

/** Every fault, with the reply docs/contract.md §4 and the README promise for it. */
export const FAULTS: Fault[] = [
  { tool: 'unreachable', what: 'unreachable', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'load_oob', what: 'out-of-bounds load', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'store_oob', what: 'out-of-bounds store', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'recurse', what: 'stack overflow', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'divide_by_zero', what: 'integer divide by zero', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'float_to_int', what: 'float-to-int overflow', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'null_indirect', what: 'call_indirect through a null slot', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'wrong_signature', what: 'call_indirect with the wrong signature', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'xloop', what: 'a runaway loop', status: 504, code: 'WG_ERR_GUARD_TIMEOUT' },
  { tool: 'memory_bomb', what: 'a memory bomb', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'exit0', what: 'WASI proc_exit(0)', status: 502, code: 'WG_ERR_GUARD_EXIT' },
  { tool: '3exit', what: 'WASI proc_exit(3)', status: 502, code: 'WG_ERR_GUARD_TRAP' },
  { tool: 'output_over_ceiling', what: 'output over the ceiling', status: 502, code: 'WG_ERR_BUFFER_LIMIT' },
  { tool: 'json_malformed', what: 'malformed output', status: 502, code: 'WG_ERR_GUARD_OUTPUT' },
];

/** Writes a flood of log lines (host_log at error level, then WASI fd_write to stderr) and then labels normally. */
export const LOG_FLOOD_TOOL = 'grow_logs';
export const LOG_FLOOD_LINES = 20_000;

const ch = (tool: string) => tool.charCodeAt(0);
const RESOURCE_LEN = Buffer.byteLength(RESOURCE_JSON);

export function hostileGuard(options: { allocator: boolean }): string {
  const on = (tool: string, body: string) => `(if (i32.eq (local.get $c) (i32.const ${ch(tool)})) (then ${body}))`;
  return guardModule({
    allocator: false,
    imports: `
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "host_log" (func $host_log (param i32 i32 i32)))`,
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $c i32) (local $i i32)
    (local.set $c (i32.load8_u (i32.add (local.get $in) (i32.const 14))))
    ${on('unreachable', 'unreachable')}
    ${on('load_oob', '(drop (i32.load (i32.const 0xfffffff0)))')}
    ${on('store_oob', '(i32.store (i32.const 0xfffffff0) (i32.const 1))')}
    ${on('recurse', '(drop (call $recurse (i32.const 0)))')}
    ${on('divide_by_zero', '(drop (i32.div_s (i32.const 1) (global.get $zero)))')}
    ${on('float_to_int', '(drop (i32.trunc_f64_s (global.get $huge)))')}
    ${on('null_indirect', '(call_indirect (type $void) (global.get $zero))')}
    ${on('wrong_signature', '(call_indirect (type $void) (i32.const 1))')}
    ${on('xloop', '(loop $forever (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (br $forever))')}
    ${on('memory_bomb', '(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable')}
    ${on('exit0', '(call $proc_exit (i32.const 0))')}
    ${on('3exit', '(call $proc_exit (i32.const 3))')}
    ${on('output_over_ceiling', '(i32.store (local.get $out) (i32.const 0x2000000)) (return (i32.const -2))')}
    ${on('json_malformed', '(if (i32.lt_u (local.get $cap) (i32.const 16)) (then (return (i32.const -2)))) (memory.copy (local.get $out) (i32.const 4096) (i32.const 16)) (return (i32.const 16))')}
    ${on(
      LOG_FLOOD_TOOL,
      `(loop $log
        (call $host_log (i32.const 3) (i32.const 12288) (i32.const 40))
        (drop (call $fd_write (i32.const 2) (i32.const 12352) (i32.const 1) (i32.const 12368)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $log (i32.lt_u (local.get $i) (i32.const ${LOG_FLOOD_LINES}))))`,
    )}
    (if (i32.lt_u (local.get $cap) (i32.const ${RESOURCE_LEN}))
      (then (i32.store (local.get $out) (i32.const ${RESOURCE_LEN})) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${RESOURCE_LEN}))
    (i32.const ${RESOURCE_LEN}))
  (func $recurse (param i32) (result i32) (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $takes_i32 (param i32) (result i32) (local.get 0))
  (type $void (func))
  (table 2 funcref)
  (elem (i32.const 1) $takes_i32)
  (global $zero (mut i32) (i32.const 0))
  (global $huge (mut f64) (f64.const 1e12))
  (global $sink (mut i32) (i32.const 0))
  (data (i32.const 12288) "flooding the log with forty bytes a line")
  ;; one iovec {ptr 12288, len 41} at 12352, the count written at 12368
  (data (i32.const 12352) "\\00\\30\\00\\00\\29\\00\\00\\00")
  (data (i32.const 12328) "\\0a")`,
    extra: options.allocator ? ALLOCATOR : '',
  });
}

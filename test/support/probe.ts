/**
 * A probe guard for call-protocol tests: label_resource records what the host
 * passed (pointers, lengths, capacity, number of calls) in exported globals,
 * and behaves as the test sets through other exported (mutable) globals.
 */
import { ALLOCATOR, guardModule, RESOURCE_JSON } from './guards.js';

export const MODE = { resource: 0, echo: 1, returnCode: 2, alwaysTooSmall: 3, notJson: 4 } as const;

const NOT_JSON = 'this is not JSON';

const PROBE_GLOBALS = `
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (global $last_in (export "last_in") (mut i32) (i32.const 0))
  (global $last_in_len (export "last_in_len") (mut i32) (i32.const 0))
  (global $last_out (export "last_out") (mut i32) (i32.const 0))
  (global $last_cap (export "last_cap") (mut i32) (i32.const 0))
  (global $mode (export "mode") (mut i32) (i32.const 0))
  ;; return -2 while out_cap < need, writing hint at out_ptr
  (global $need (export "need") (mut i32) (i32.const 0))
  (global $hint (export "hint") (mut i32) (i32.const 0))
  (global $rc (export "rc") (mut i32) (i32.const 0))
  (data (i32.const 12288) "${NOT_JSON}")
`;

const PROBE_RESOURCE = `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (global.set $last_in (local.get $in))
    (global.set $last_in_len (local.get $inlen))
    (global.set $last_out (local.get $out))
    (global.set $last_cap (local.get $cap))
    (if (i32.lt_u (local.get $cap) (global.get $need))
      (then (i32.store (local.get $out) (global.get $hint)) (return (i32.const -2))))
    (if (i32.eq (global.get $mode) (i32.const 1))
      (then (memory.copy (local.get $out) (local.get $in) (local.get $inlen)) (return (local.get $inlen))))
    (if (i32.eq (global.get $mode) (i32.const 2)) (then (return (global.get $rc))))
    (if (i32.eq (global.get $mode) (i32.const 3))
      (then (i32.store (local.get $out) (i32.add (local.get $cap) (i32.const 8))) (return (i32.const -2))))
    (if (i32.eq (global.get $mode) (i32.const 4))
      (then (memory.copy (local.get $out) (i32.const 12288) (i32.const ${NOT_JSON.length})) (return (i32.const ${NOT_JSON.length}))))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
    (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
`;

/**
 * The allocator of guards.ts plus two switches: alloc returns 0 for sizes over
 * alloc_limit, or an out-of-bounds pointer when alloc_bogus is set; dealloc
 * overwrites freed memory with 0xEE when scribble is set.
 */
const PROBE_ALLOCATOR = ALLOCATOR.replace(
  '(local.set $ptr (global.get $heap))',
  `(if (i32.gt_u (local.get $size) (global.get $alloc_limit)) (then (return (i32.const 0))))
    (if (global.get $alloc_bogus) (then (return (i32.const 0x7ffffff0))))
    (local.set $ptr (global.get $heap))`,
).replace(
  '(func (export "dealloc") (param i32 i32)',
  `(func (export "dealloc") (param i32 i32)
    (if (global.get $scribble) (then (memory.fill (local.get 0) (i32.const 0xEE) (local.get 1))))`,
) + `
  (global $alloc_limit (export "alloc_limit") (mut i32) (i32.const 0x7fffffff))
  (global $alloc_bogus (export "alloc_bogus") (mut i32) (i32.const 0))
  (global $scribble (export "scribble") (mut i32) (i32.const 0))
`;

export function probeGuard(options: { allocator?: boolean; extra?: string; agent?: string } = {}): string {
  const allocator = options.allocator !== false;
  return guardModule({
    allocator: false,
    resource: PROBE_RESOURCE,
    agent: options.agent,
    extra: `${PROBE_GLOBALS} ${allocator ? PROBE_ALLOCATOR : ''} ${options.extra ?? ''}`,
  });
}

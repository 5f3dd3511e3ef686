;; A CPU-heavy guard for the scaling benchmark: label_resource spins for a fixed
;; number of iterations (about 0.5-1 ms on the 2-core bench machine; the bench
;; reports the measured in-thread time per call) before answering with fixed
;; labels, so throughput is bounded by guard CPU and shows how it scales with
;; the pool size. Same ABI as every guard (docs/contract.md §2), with a bump
;; allocator that resets when everything is freed.
(module
  (memory (export "memory") 2)

  (global $heap (mut i32) (i32.const 65536))
  (global $live (mut i32) (i32.const 0))
  ;; Result of the spin, kept in a global so the loop is not dead code.
  (global $sink (mut i32) (i32.const 0))

  (func (export "alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $need i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.set $need (i32.sub (i32.shr_u (i32.add (global.get $heap) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then (return (i32.const 0))))))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  (func (export "dealloc") (param i32 i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live)) (then (global.set $heap (i32.const 65536)))))

  ;; {"agent":{"secrecy":[],"integrity":[]},"difc_mode":"strict"}
  (data (i32.const 1024) "{\"agent\":{\"secrecy\":[],\"integrity\":[]},\"difc_mode\":\"strict\"}")
  ;; {"resource":{"description":"spin","secrecy":[],"integrity":[]},"operation":"read"}
  (data (i32.const 2048) "{\"resource\":{\"description\":\"spin\",\"secrecy\":[],\"integrity\":[]},\"operation\":\"read\"}")

  (func $answer (param $out i32) (param $cap i32) (param $at i32) (param $len i32) (result i32)
    (if (i32.lt_u (local.get $cap) (local.get $len))
      (then (i32.store (local.get $out) (local.get $len)) (return (i32.const -2))))
    (memory.copy (local.get $out) (local.get $at) (local.get $len))
    (local.get $len))

  ;; xorshift32 for $n rounds: data-dependent, so it cannot be folded away.
  (func $spin (param $n i32)
    (local $x i32)
    (local.set $x (i32.add (global.get $sink) (i32.const 0x9e3779b9)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
        (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (global.set $sink (local.get $x)))

  (func (export "label_agent") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (call $answer (local.get $out) (local.get $cap) (i32.const 1024) (i32.const 60)))

  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (call $spin (i32.const 350000))
    (call $answer (local.get $out) (local.get $cap) (i32.const 2048) (i32.const 82)))

  (func (export "label_response") (param i32 i32 i32 i32) (result i32) (i32.const 0)))

/**
 * WAT building blocks for test guards. Each test guard is a real module: a
 * bump allocator with counters the tests read back, and label functions whose
 * behaviour is chosen by the test.
 */

/** alloc/dealloc over a bump pointer, counting live allocations and deallocs in globals exported for tests. */
export const ALLOCATOR = `
  (global $heap (mut i32) (i32.const 65536))
  (global $live (export "live_allocs") (mut i32) (i32.const 0))
  (global $deallocs (export "deallocs") (mut i32) (i32.const 0))
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
    (global.set $deallocs (i32.add (global.get $deallocs) (i32.const 1)))
    ;; reset the bump pointer once everything is free, so long runs do not grow forever
    (if (i32.eqz (global.get $live)) (then (global.set $heap (i32.const 65536)))))
`;

/** Writes a constant string (in data at $at) to out_ptr, honouring out_cap with the -2 protocol and a hint. */
export function constOutput(name: string, text: string, at = 1024): { data: string; func: string } {
  const bytes = Buffer.from(text);
  const escaped = [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  return {
    data: `(data (i32.const ${at}) "${escaped}")`,
    func: `
  (func (export "${name}") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.lt_u (local.get $cap) (i32.const ${bytes.length}))
      (then (i32.store (local.get $out) (i32.const ${bytes.length})) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const ${at}) (i32.const ${bytes.length}))
    (i32.const ${bytes.length}))`,
  };
}

export const RESOURCE_JSON = '{"resource":{"description":"repo octo/x","secrecy":["private:octo/x"],"integrity":["approved:octo"]},"operation":"read"}';
export const AGENT_JSON = '{"agent":{"secrecy":["private:octo/x"],"integrity":[]},"difc_mode":"filter","normalized_policy":{"allow-only":{}}}';

/** A complete guard module: memory, allocator (unless omitted) and the three label functions. */
export function guardModule(parts: {
  agent?: string;
  resource?: string;
  response?: string;
  allocator?: boolean;
  extra?: string;
  imports?: string;
  memory?: string;
}): string {
  const agent = constOutput('label_agent', AGENT_JSON, 1024);
  const resource = constOutput('label_resource', RESOURCE_JSON, 4096);
  const response = constOutput('label_response', '', 8192);
  return `(module
  ${parts.imports ?? ''}
  ${parts.memory ?? '(memory (export "memory") 2)'}
  ${parts.allocator === false ? '' : ALLOCATOR}
  ${agent.data} ${resource.data}
  ${parts.agent ?? agent.func}
  ${parts.resource ?? resource.func}
  ${parts.response ?? response.func}
  ${parts.extra ?? ''}
)`;
}

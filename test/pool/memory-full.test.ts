/**
 * An instance whose memory a call filled to the cap can no longer place its
 * call buffers: it is retired and the call retried once on a fresh instance,
 * on both call paths, in a real worker.
 */
import { describe, expect, it } from 'vitest';
import { guardModule, RESOURCE_JSON } from '../support/guards.js';
import { compileWat, poolHarness } from '../support/pool-guards.js';

const h = poolHarness();
const LEN = Buffer.byteLength(RESOURCE_JSON);

/** label_resource answers RESOURCE_JSON; on a one-byte input it first grows memory as far as the cap lets it. */
const hungryGuard = (allocator: boolean) =>
  guardModule({
    allocator,
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.eq (local.get $inlen) (i32.const 1))
      (then (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))))
    (if (i32.lt_u (local.get $cap) (i32.const ${LEN})) (then (i32.store (local.get $out) (i32.const ${LEN})) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${LEN}))
    (i32.const ${LEN}))`,
  });

describe('an instance whose memory is full', () => {
  it.each([
    ['without alloc (buffers at the end of memory)', false],
    ['with alloc', true],
  ])('%s: is retired and the next call is served by a fresh instance', async (_name, allocator) => {
    const pool = await h.start(await compileWat(h.cache, hungryGuard(allocator), `hungry-${allocator}`), { size: 1 });
    // Fills memory to the 32 MiB cap, and still answers.
    const filled = await pool.call({ fn: 'label_resource', input: 'x' });
    expect(filled.output).toBe(RESOURCE_JSON);
    // The next calls need 4 MiB of buffers the full instance cannot give: each is served all the same.
    for (let i = 0; i < 3; i++) {
      const next = await pool.call({ fn: 'label_resource', input: '{"tool_name":"t","tool_args":{}}' });
      expect(next.output).toBe(RESOURCE_JSON);
    }
  });
});

/**
 * Host behaviours a guard built for the compatible gateway relies on, shown
 * through the HTTP API with a purpose-built guard (WAT) that reports what the
 * host gave it:
 * - label_resource and label_response inputs carry `capabilities` ({} as the
 *   gateway serialises its capability set);
 * - the configured trusted bots reach label_agent as a top-level
 *   `trusted-bots` member next to the policy (label_agent echoes its input as
 *   normalized_policy);
 * - a module that also exports `_start` (a command-style build) loads and runs
 *   as the gateway runs it, without `_start` being called (here `_start` traps).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOCATOR } from '../support/guards.js';
import { startService, type TestService } from '../support/server.js';
import { wat } from '../support/wat.js';

const NEEDLE = '"capabilities":{}';
const hex = (text: string) => [...Buffer.from(text)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
const RESOURCE = (description: string) => `{"resource":{"description":"${description}","secrecy":[],"integrity":[]},"operation":"read"}`;
const RESPONSE = (description: string) => `{"labeled_paths":[{"path":"","labels":{"description":"${description}","secrecy":[],"integrity":[]}}]}`;
const AGENT_PREFIX = '{"agent":{"secrecy":[],"integrity":[]},"difc_mode":"filter","normalized_policy":';

/** Writes data segment [at, at+len) to out; returns len. */
const copyOut = (at: number, len: number) => `(memory.copy (local.get $out) (i32.const ${at}) (i32.const ${len})) (return (i32.const ${len}))`;

function reportingGuard(): string {
  const segments: Array<[number, string]> = [
    [1024, NEEDLE],
    [2048, RESOURCE('capabilities:{}')],
    [3072, RESOURCE('no capabilities')],
    [4096, RESPONSE('capabilities:{}')],
    [5120, RESPONSE('no capabilities')],
    [6144, AGENT_PREFIX],
  ];
  const len = (at: number) => Buffer.byteLength(segments.find(([a]) => a === at)![1]);
  const labelling = (name: string, found: number, missing: number) => `
  (func (export "${name}") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (call $has (local.get $in) (local.get $inlen)) (then ${copyOut(found, len(found))}))
    ${copyOut(missing, len(missing))})`;
  return `(module
  (memory (export "memory") 2)
  ${segments.map(([at, text]) => `(data (i32.const ${at}) "${hex(text)}")`).join('\n  ')}
  ${ALLOCATOR}
  ;; 1 when the input holds the needle at 1024
  (func $has (param $in i32) (param $len i32) (result i32)
    (local $i i32) (local $j i32)
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const ${NEEDLE.length})) (local.get $len)))
        (local.set $j (i32.const 0))
        (block $miss
          (loop $inner
            (br_if $miss (i32.ne
              (i32.load8_u (i32.add (i32.add (local.get $in) (local.get $i)) (local.get $j)))
              (i32.load8_u (i32.add (i32.const 1024) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (if (i32.eq (local.get $j) (i32.const ${NEEDLE.length})) (then (return (i32.const 1))))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const 0))
  ;; label_agent: the agent, with its own input as normalized_policy
  (func (export "label_agent") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $n i32)
    (local.set $n (i32.add (i32.const ${AGENT_PREFIX.length + 1}) (local.get $inlen)))
    (if (i32.lt_u (local.get $cap) (local.get $n)) (then (i32.store (local.get $out) (local.get $n)) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 6144) (i32.const ${AGENT_PREFIX.length}))
    (memory.copy (i32.add (local.get $out) (i32.const ${AGENT_PREFIX.length})) (local.get $in) (local.get $inlen))
    (i32.store8 (i32.add (local.get $out) (i32.sub (local.get $n) (i32.const 1))) (i32.const 125))
    (local.get $n))
  ${labelling('label_resource', 2048, 3072)}
  ${labelling('label_response', 4096, 5120)}
  ;; A command-style entry point: the gateway never runs it, nor does this host.
  (func (export "_start") unreachable)
)`;
}

describe('host behaviours of the compatible gateway, over HTTP', () => {
  let s: TestService;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-gateway-host-'));
    const path = join(dir, 'reporting.wasm');
    writeFileSync(path, await wat(reportingGuard()));
    s = await startService({
      guards: [
        { name: 'reporting', path },
        { name: 'reporting-bots', path, trustedBots: ['helper-bot', 'release-bot[bot]'] },
      ],
    });
  });
  afterAll(() => s?.close());
  // On a loaded machine the event-loop monitor can report pressure for its first interval: wait until ready (bounded).
  beforeAll(async () => {
    for (let i = 0; i < 400 && (await s.get('/readyz')).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
  });

  const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'none' } };

  it('label_resource gets capabilities as the gateway sends it', async () => {
    const reply = await s.post('/v1/evaluate', { guard: 'reporting', tool: 'get_file_contents', args: { owner: 'o', repo: 'r' } });
    expect(reply.status).toBe(200);
    expect(reply.body.resource.description).toBe('capabilities:{}');
  });

  it('label_response gets capabilities as the gateway sends it', async () => {
    const reply = await s.post('/v1/evaluate/response', {
      guard: 'reporting',
      tool: 'get_file_contents',
      args: {},
      result: { content: 'x' },
      resource: { secrecy: ['private'], integrity: [] },
      operation: 'read',
    });
    expect(reply.status).toBe(200);
    expect(reply.body.labels).toEqual([expect.objectContaining({ path: '', description: 'capabilities:{}' })]);
  });

  it('trusted bots from the configuration reach label_agent as a top-level trusted-bots member', async () => {
    const bots = await s.post('/v1/agents/label', { guard: 'reporting-bots', policy: POLICY });
    expect(bots.status).toBe(200);
    expect(bots.body.normalized_policy).toEqual({ ...POLICY, 'trusted-bots': ['helper-bot', 'release-bot[bot]'] });
    // They replace a list the caller put in the policy, as the gateway's configured list does.
    const replaced = await s.post('/v1/agents/label', { guard: 'reporting-bots', policy: { ...POLICY, 'trusted-bots': ['intruder'] } });
    expect(replaced.body.normalized_policy['trusted-bots']).toEqual(['helper-bot', 'release-bot[bot]']);
    // Without the setting, the policy goes as it is.
    const plain = await s.post('/v1/agents/label', { guard: 'reporting', policy: POLICY });
    expect(plain.body.normalized_policy).toEqual(POLICY);
  });

  it('a module exporting _start loads and serves without _start being run', async () => {
    const { body } = await s.get('/v1/guards');
    const guard = body.guards.find((g: { name: string }) => g.name === 'reporting');
    expect(guard.exports).toEqual(expect.arrayContaining(['_start', 'label_resource']));
    expect(guard.pool.healthy).toBe(true);
    const traps = (await s.get('/metrics')).text.split('\n').filter((l) => l.startsWith('wasmguard_traps_total{') && l.includes('reporting'));
    expect(traps.every((l) => l.endsWith(' 0'))).toBe(true);
  });
});

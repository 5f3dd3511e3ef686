import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompilationCache, GuardInstance, GuardPolicyRejectedError, type CompiledGuard } from '../../src/guard/index.js';
import { guardBytes, moduleSurface, rawGuard, sig } from './harness.js';

// The "static" sample guard (guards/static/assembly/index.ts): labels come
// from the policy, and response items may carry their own "_labels".

let bytes: Uint8Array<ArrayBuffer>;
let cache: CompilationCache;
let compiled: CompiledGuard;

beforeAll(async () => {
  bytes = guardBytes('static');
  cache = new CompilationCache();
  compiled = await cache.load(bytes, { name: 'static' });
});

afterAll(async () => {
  await cache?.close();
});

const guard = () => GuardInstance.create(compiled);

const policy = {
  agent: { secrecy: ['team'], integrity: ['trusted', 'reviewed', 'trusted'] },
  mode: 'propagate',
  tools: {
    read_secret: { operation: 'read', secrecy: ['team'], integrity: ['trusted'], description: 'the team vault' },
    post_public: { operation: 'write' },
    sync: { operation: 'read-write', integrity: ['trusted'] },
  },
  default: { operation: 'write', integrity: ['admin'] },
};

describe('static guard', () => {
  it('imports only env.host_log and exports exactly the ABI', () => {
    const { imports, exports } = moduleSurface(bytes);
    expect([...imports.entries()]).toEqual([['env.host_log', sig(3, false)]]);
    expect([...exports.keys()].sort()).toEqual(['alloc', 'dealloc', 'label_agent', 'label_resource', 'label_response', 'memory']);
    for (const fn of ['label_agent', 'label_resource', 'label_response']) expect(exports.get(fn)).toEqual(sig(4, true));
  });

  it('without a policy every tool is a read of a public, untrusted resource', () => {
    expect(guard().labelResource('anything', { x: 1 })).toEqual({
      resource: { description: 'tool anything', secrecy: [], integrity: [] },
      operation: 'read',
    });
  });

  it('an empty policy gives empty agent labels and no mode', () => {
    expect(guard().labelAgent({})).toEqual({
      agent: { secrecy: [], integrity: [] },
      normalizedPolicy: {
        agent: { secrecy: [], integrity: [] },
        tools: {},
        default: { operation: 'read', secrecy: [], integrity: [] },
      },
    });
  });

  it('agent labels and mode come from the policy; tags are de-duplicated and sorted', () => {
    const out = guard().labelAgent(policy);
    expect(out.agent).toEqual({ secrecy: ['team'], integrity: ['reviewed', 'trusted'] });
    expect(out.mode).toBe('propagate');
    expect(out.normalizedPolicy).toEqual({
      agent: { secrecy: ['team'], integrity: ['reviewed', 'trusted'] },
      mode: 'propagate',
      tools: {
        post_public: { operation: 'write', secrecy: [], integrity: [] },
        read_secret: { operation: 'read', secrecy: ['team'], integrity: ['trusted'], description: 'the team vault' },
        sync: { operation: 'read-write', secrecy: [], integrity: ['trusted'] },
      },
      default: { operation: 'write', secrecy: [], integrity: ['admin'] },
    });
  });

  it('labels each tool by its rule, and other tools by the default rule', () => {
    const g = guard();
    g.labelAgent(policy);
    expect(g.labelResource('read_secret', {})).toEqual({
      resource: { description: 'the team vault', secrecy: ['team'], integrity: ['trusted'] },
      operation: 'read',
    });
    expect(g.labelResource('post_public', {}).operation).toBe('write');
    expect(g.labelResource('sync', {}).operation).toBe('read-write');
    expect(g.labelResource('unknown', {})).toEqual({
      resource: { description: 'tool unknown', secrecy: [], integrity: ['admin'] },
      operation: 'write',
    });
  });

  it.each([
    ['not an object', [], 'policy must be a JSON object'],
    ['an unknown field', { rules: {} }, 'unknown field rules'],
    ['agent not an object', { agent: ['x'] }, 'agent must be an object'],
    ['an unknown agent field', { agent: { labels: [] } }, 'unknown field agent.labels'],
    ['non-string tags', { agent: { secrecy: [1] } }, 'agent.secrecy must be an array of strings'],
    ['a bad mode', { mode: 'audit' }, 'mode must be "strict", "filter" or "propagate"'],
    ['tools not an object', { tools: [] }, 'tools must be an object'],
    ['a bad operation', { tools: { t: { operation: 'exec' } } }, 'tools.t.operation must be'],
    ['an unknown rule field', { tools: { t: { op: 'read' } } }, 'unknown field tools.t.op'],
    ['a bad default', { default: { integrity: 'x' } }, 'default.integrity must be an array of strings'],
  ])('rejects a policy with %s', (_what, bad, message) => {
    expect(() => guard().labelAgent(bad)).toThrow(GuardPolicyRejectedError);
    expect(() => guard().labelAgent(bad)).toThrow(message);
  });

  it('keeps its policy between calls, and keeps the old one when a new one is rejected', () => {
    const g = guard();
    g.labelAgent(policy);
    expect(() => g.labelAgent({ mode: 'nope' })).toThrow(GuardPolicyRejectedError);
    expect(g.labelResource('read_secret', {}).resource.secrecy).toEqual(['team']);
    g.labelAgent({});
    expect(g.labelResource('read_secret', {}).resource.secrecy).toEqual([]);
  });

  it('labels response items that carry "_labels"; the others get the tool rule as default labels', () => {
    const g = guard();
    g.labelAgent(policy);
    const result = {
      items: [
        { id: 1, _labels: { secrecy: ['team'], integrity: ['trusted'] } },
        { id: 2 },
        { id: 3, _labels: { integrity: [], description: 'from a stranger' } },
      ],
    };
    expect(g.labelResponse('read_secret', result, {})).toEqual({
      kind: 'paths',
      itemsPath: '/items',
      labeledPaths: [
        { path: '/items/0', labels: { description: 'item 0', secrecy: ['team'], integrity: ['trusted'] } },
        { path: '/items/2', labels: { description: 'from a stranger', secrecy: [], integrity: [] } },
      ],
      defaultLabels: { description: 'the team vault', secrecy: ['team'], integrity: ['trusted'] },
    });
  });

  it('handles root arrays and MCP text results', () => {
    const items = [{ _labels: { secrecy: ['a'] } }, { _labels: { secrecy: ['b'] } }];
    const root = guard().labelResponse('t', items, {});
    expect(root).toMatchObject({ kind: 'paths', itemsPath: '' });
    const wrapped = guard().labelResponse('t', { content: [{ type: 'text', text: JSON.stringify(items) }] }, {});
    expect(wrapped).toMatchObject({ kind: 'paths', itemsPath: '', labeledPaths: [{ path: '/0' }, { path: '/1' }] });
  });

  it('returns no fine-grained labels when no item carries "_labels"', () => {
    expect(guard().labelResponse('t', { items: [{ id: 1 }] }, {})).toEqual({ kind: 'none' });
    expect(guard().labelResponse('t', 'text', {})).toEqual({ kind: 'none' });
  });

  it('raw ABI: every output fits a buffer of exactly its size, and -2 carries that size', () => {
    const raw = rawGuard(bytes);
    const cases: Array<['label_agent' | 'label_resource' | 'label_response', unknown]> = [
      ['label_agent', policy],
      ['label_agent', { mode: 'ünknown' }],
      ['label_resource', { tool_name: 'read_secret', tool_args: {} }],
      ['label_response', { tool_name: 't', tool_result: [{ _labels: { secrecy: ['ü "q"'], description: '😀' } }] }],
    ];
    for (const [fn, value] of cases) {
      const input = JSON.stringify(value);
      const probe = raw.call(fn, input, 4);
      expect(probe.rc).toBe(-2);
      expect(raw.call(fn, input, probe.hint).rc).toBe(probe.hint);
      expect(raw.call(fn, input, probe.hint - 1)).toMatchObject({ rc: -2, hint: probe.hint });
    }
  });

  it('never traps on arbitrary policies, tools and results', () => {
    const g = guard();
    const item = fc.oneof(fc.jsonValue(), fc.record({ _labels: fc.oneof(fc.jsonValue(), fc.record({ secrecy: fc.array(fc.string()) })) }));
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), fc.oneof(fc.jsonValue(), fc.array(item)), (p, tool, result) => {
        try {
          g.labelAgent(p);
        } catch (error) {
          expect(error).toBeInstanceOf(GuardPolicyRejectedError);
        }
        expect(['read', 'write', 'read-write']).toContain(g.labelResource(tool, {}).operation);
        expect(['none', 'paths']).toContain(g.labelResponse(tool, result, {}).kind);
      }),
      { numRuns: 300 },
    );
    expect(g.poisoned).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  CompilationCache,
  GuardInstance,
  GuardOutputError,
  GuardPolicyRejectedError,
  inputJson,
  LABEL_CAPS,
  parseAgentOutput,
  parseResourceOutput,
  parseResponseOutput,
} from '../../src/guard/index.js';
import { constOutput, guardModule } from '../support/guards.js';
import { wat } from '../support/wat.js';

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function outputError(fn: () => unknown): GuardOutputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GuardOutputError);
    return error as GuardOutputError;
  }
  throw new Error('expected GuardOutputError');
}

describe('inputJson', () => {
  it('builds the input of each function', () => {
    expect(JSON.parse(inputJson({ fn: 'label_agent', policy: { 'allow-only': { repos: 'public', 'min-integrity': 'none' } } }))).toEqual({
      'allow-only': { repos: 'public', 'min-integrity': 'none' },
    });
    expect(JSON.parse(inputJson({ fn: 'label_resource', tool: 'get_file', args: { path: 'a' } }))).toEqual({
      tool_name: 'get_file',
      tool_args: { path: 'a' },
      capabilities: {},
    });
    expect(JSON.parse(inputJson({ fn: 'label_resource', tool: 'list', args: undefined }))).toEqual({ tool_name: 'list', tool_args: {}, capabilities: {} });
    expect(JSON.parse(inputJson({ fn: 'label_response', tool: 'list', args: { q: 1 }, result: [1, 2] }))).toEqual({
      tool_name: 'list',
      tool_result: [1, 2],
      tool_args: { q: 1 },
      capabilities: {},
    });
  });
});

describe('label_agent output', () => {
  it('reads agent labels, mode and normalized policy', () => {
    expect(
      parseAgentOutput(
        bytes({ agent: { secrecy: ['s'], integrity: ['i'] }, difc_mode: 'propagate', normalized_policy: { x: 1 } }),
        'g',
      ),
    ).toEqual({ agent: { secrecy: ['s'], integrity: ['i'] }, mode: 'propagate', normalizedPolicy: { x: 1 } });
    expect(parseAgentOutput(bytes({ agent: {} }), 'g')).toEqual({ agent: { secrecy: [], integrity: [] } });
    expect(parseAgentOutput(bytes({ agent: { secrecy: null }, difc_mode: '' }), 'g')).toEqual({ agent: { secrecy: [], integrity: [] } });
  });

  it.each([
    [{ success: false, error: 'unknown repo scope' }, 'unknown repo scope'],
    [{ ok: false, message: 'min-integrity must be one of none, approved' }, 'min-integrity must be one of none, approved'],
    [{ error: 'policy has no allow-only', agent: { secrecy: [] } }, 'policy has no allow-only'],
    [{ success: false }, 'no reason given'],
  ])('turns the rejection form %j into GuardPolicyRejectedError with the guard message', (out, reason) => {
    let error: unknown;
    try {
      parseAgentOutput(bytes(out), 'gh');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardPolicyRejectedError);
    expect((error as Error).message).toBe(`guard gh rejected the policy: ${reason}`);
    expect(error).toMatchObject({ guard: 'gh', fn: 'label_agent', code: 'WG_ERR_POLICY_REJECTED' });
  });

  it('does not take an empty error string or success:true for a rejection', () => {
    expect(parseAgentOutput(bytes({ error: '', success: true, agent: { secrecy: ['a'] } }), 'g').agent.secrecy).toEqual(['a']);
  });

  it('names what is wrong', () => {
    expect(outputError(() => parseAgentOutput(bytes({}), 'g')).message).toBe('guard g label_agent output: lacks agent (the agent labels for the policy)');
    expect(outputError(() => parseAgentOutput(bytes({ agent: { integrity: ['a', 7] } }), 'g')).message).toContain(
      'agent.integrity[1] is a number, expected a string',
    );
    expect(outputError(() => parseAgentOutput(bytes({ agent: {}, difc_mode: 'lenient' }), 'g')).message).toContain(
      'difc_mode is "lenient", expected one of strict, filter, propagate',
    );
    expect(outputError(() => parseAgentOutput(bytes([1]), 'g')).message).toContain('is an array, expected an object');
  });

  it('is rejected through a real guard returning a rejection object', async () => {
    const reject = constOutput('label_agent', '{"success":false,"error":"repos must be public or a list"}', 1024);
    const compiled = await new CompilationCache().load(await wat(guardModule({ agent: reject.func }).replace(/\(data \(i32.const 1024\)[^)]*\)/, reject.data)), {
      name: 'strict-guard',
    });
    const instance = GuardInstance.create(compiled);
    let error: unknown;
    try {
      instance.labelAgent({ 'allow-only': { repos: 'everything' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardPolicyRejectedError);
    expect(error).toMatchObject({
      message: 'guard strict-guard rejected the policy: repos must be public or a list',
      guard: 'strict-guard',
      fn: 'label_agent',
    });
    expect(instance.poisoned).toBeUndefined();
  });
});

describe('label_resource output', () => {
  it('reads resource labels and operation', () => {
    expect(
      parseResourceOutput(bytes({ resource: { description: 'issue #1', secrecy: ['s'], integrity: ['i'] }, operation: 'read-write' }), 'g'),
    ).toEqual({ resource: { description: 'issue #1', secrecy: ['s'], integrity: ['i'] }, operation: 'read-write' });
  });

  it.each([[undefined], ['delete'], [''], [null], [3]])('treats operation %j as write', (operation) => {
    expect(parseResourceOutput(bytes({ resource: {}, operation }), 'g').operation).toBe('write');
  });

  it('names the field path of a wrong type', () => {
    expect(outputError(() => parseResourceOutput(bytes({ resource: { secrecy: ['a', { tag: 'b' }] } }), 'g')).message).toBe(
      'guard g label_resource output: resource.secrecy[1] is an object, expected a string',
    );
    expect(outputError(() => parseResourceOutput(bytes({ resource: { integrity: 'approved' } }), 'g')).message).toContain(
      'resource.integrity is a string, expected an array of strings',
    );
    expect(outputError(() => parseResourceOutput(bytes({ resource: { description: 5 } }), 'g')).message).toContain(
      'resource.description is a number, expected a string',
    );
    expect(outputError(() => parseResourceOutput(bytes({ resource: [] }), 'g')).message).toContain('resource is an array');
    expect(outputError(() => parseResourceOutput(bytes({ operation: 'read' }), 'g')).message).toContain('lacks resource');
    expect(outputError(() => parseResourceOutput(bytes('null'), 'g')).message).toContain('is null, expected an object');
  });

  it('names the function when the output is not JSON or not UTF-8', () => {
    const error = outputError(() => parseResourceOutput(bytes('{"resource": {'), 'gh'));
    expect(error.message).toMatch(/^guard gh label_resource output: not valid JSON \(.*\); starts with "\{\\"resource\\": \{"$/);
    expect(error).toMatchObject({ guard: 'gh', fn: 'label_resource', code: 'WG_ERR_GUARD_OUTPUT' });
    expect(outputError(() => parseResourceOutput(new Uint8Array([0x7b, 0xff, 0x7d]), 'gh')).message).toContain('not valid UTF-8');
  });

  it('accepts output already decoded to text', () => {
    expect(parseResourceOutput('{"resource":{},"operation":"read"}', 'g').operation).toBe('read');
  });
});

describe('label_response output', () => {
  it('reads empty output, null and {} as no fine-grained labels', () => {
    expect(parseResponseOutput(new Uint8Array(0), 'g')).toEqual({ kind: 'none' });
    expect(parseResponseOutput(bytes('null'), 'g')).toEqual({ kind: 'none' });
    expect(parseResponseOutput(bytes({}), 'g')).toEqual({ kind: 'none' });
  });

  it('reads labeled_paths with default_labels and items_path', () => {
    expect(
      parseResponseOutput(
        bytes({
          labeled_paths: [
            { path: '/items/0', labels: { description: 'pr 1', secrecy: ['private:o/r'], integrity: ['approved:o'] } },
            { path: '/items/1', labels: { secrecy: [], integrity: [] } },
          ],
          default_labels: { secrecy: ['private:o/r'], integrity: [] },
          items_path: '/items',
        }),
        'g',
      ),
    ).toEqual({
      kind: 'paths',
      labeledPaths: [
        { path: '/items/0', labels: { description: 'pr 1', secrecy: ['private:o/r'], integrity: ['approved:o'] } },
        { path: '/items/1', labels: { secrecy: [], integrity: [] } },
      ],
      defaultLabels: { secrecy: ['private:o/r'], integrity: [] },
      itemsPath: '/items',
    });
    expect(parseResponseOutput(bytes({ labeled_paths: [], items_path: '' }), 'g')).toEqual({ kind: 'paths', labeledPaths: [], itemsPath: '' });
    expect(parseResponseOutput(bytes({ labeled_paths: [], default_labels: null, items_path: null }), 'g')).toEqual({
      kind: 'paths',
      labeledPaths: [],
    });
  });

  it('reads the older items form', () => {
    expect(parseResponseOutput(bytes({ items: [{ data: { n: 1 }, labels: { secrecy: ['s'] } }] }), 'g')).toEqual({
      kind: 'items',
      items: [{ data: { n: 1 }, labels: { secrecy: ['s'], integrity: [] } }],
    });
  });

  it('names what is wrong', () => {
    const message = (out: unknown) => outputError(() => parseResponseOutput(bytes(out), 'g')).message;
    expect(message({ labeled_paths: {} })).toContain('labeled_paths is an object, expected an array');
    expect(message({ labeled_paths: [{ labels: {} }] })).toContain('labeled_paths[0].path is missing, expected a JSON Pointer string');
    expect(message({ labeled_paths: [{ path: '/0', labels: { secrecy: [1] } }] })).toContain('labeled_paths[0].labels.secrecy[0] is a number');
    expect(message({ labeled_paths: [], items_path: 3 })).toContain('items_path is a number, expected a JSON Pointer string');
    expect(message({ labeled_paths: [], default_labels: 'x' })).toContain('default_labels is a string');
    expect(message({ items: [{ data: 1, labels: 'x' }] })).toContain('items[0].labels is a string');
    expect(message({ items: [1] })).toContain('items[0] is a number, expected an object with data and labels');
    expect(message({ labeled_paths: [{ path: '/0' }] })).toContain('labeled_paths[0].labels is missing, expected an object');
    expect(message({ result: [] })).toContain('has neither labeled_paths nor items (keys: result)');
    expect(message('"text"')).toContain('is a string, expected an object');
    expect(message('not json')).toMatch(/^guard g label_response output: not valid JSON/);
  });
});

describe('label caps on guard output', () => {
  const tags = (n: number, size = 8) => Array.from({ length: n }, (_, i) => `t${i}`.padEnd(size, 'x'));

  it('refuses too many tags in one label, naming the field and the limit', () => {
    expect(outputError(() => parseResourceOutput(bytes({ resource: { secrecy: tags(LABEL_CAPS.tagsPerLabel + 1) } }), 'g')).message).toBe(
      `guard g label_resource output: resource.secrecy has ${LABEL_CAPS.tagsPerLabel + 1} tags, over the limit of ${LABEL_CAPS.tagsPerLabel}`,
    );
  });

  it('refuses a tag over the byte limit', () => {
    expect(outputError(() => parseAgentOutput(bytes({ agent: { integrity: ['ok', 'y'.repeat(LABEL_CAPS.bytesPerTag + 1)] } }), 'g')).message).toBe(
      `guard g label_agent output: agent.integrity[1] is ${LABEL_CAPS.bytesPerTag + 1} bytes, over the limit of ${LABEL_CAPS.bytesPerTag} bytes per tag`,
    );
  });

  it('refuses a label whose tags add up past the total, and counts each label on its own', () => {
    // Each list is within its own caps; together they are not.
    const big = { secrecy: tags(40, 1000), integrity: tags(40, 1000) };
    expect(outputError(() => parseAgentOutput(bytes({ agent: big }), 'g')).message).toBe(
      `guard g label_agent output: agent has tags adding up to more than ${LABEL_CAPS.totalTagBytes} bytes`,
    );
    // Many labels, each under the total, are fine together (a response labels every item).
    const label = { secrecy: tags(40, 1000), integrity: [] };
    const paths = Array.from({ length: 4 }, (_, i) => ({ path: `/items/${i}`, labels: label }));
    const out = parseResponseOutput(bytes({ labeled_paths: paths, items_path: '/items' }), 'g');
    expect(out.kind === 'paths' && out.labeledPaths).toHaveLength(4);
  });
});

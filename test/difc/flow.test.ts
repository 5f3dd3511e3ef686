import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFlow, evaluate, FLOW_RULES, propagateRead, rulesFor } from '../../src/difc/flow.js';
import { Labels } from '../../src/difc/labels.js';
import { coarseCheck } from '../../src/difc/pipeline.js';
import { labelResponse } from '../../src/difc/response.js';
import { MODES, type LabelsJson, type Mode, type Operation, type ResourceLabelsJson } from '../../src/difc/types.js';
import { isSubset, labelsJson, mode, operation, resourceJson } from './arbitraries.js';

const L = (secrecy: string[], integrity: string[]): LabelsJson => ({ secrecy, integrity });
const R = (secrecy: string[], integrity: string[]): ResourceLabelsJson => ({ description: 'repo octo/x', secrecy, integrity });

interface Row {
  name: string;
  operation: Operation;
  agent: LabelsJson;
  resource: ResourceLabelsJson;
  /** Violated rules, in rule order. */
  violated: string[];
  /** Agent after reading it in propagate mode, when it moves. */
  propagated?: LabelsJson;
}

// Every row of the flow table, each rule passing and failing, plus wildcards.
const rows: Row[] = [
  { name: 'read: both rules hold', operation: 'read', agent: L(['s'], ['i']), resource: R(['s'], ['i', 'j']), violated: [] },
  {
    name: 'read: resource secrecy not within agent secrecy',
    operation: 'read',
    agent: L([], []),
    resource: R(['s'], []),
    violated: ['read-secrecy'],
    propagated: L(['s'], []),
  },
  {
    name: 'read: agent integrity not within resource integrity',
    operation: 'read',
    agent: L([], ['i', 'j']),
    resource: R([], ['j']),
    violated: ['read-integrity'],
    propagated: L([], ['j']),
  },
  {
    name: 'read: both rules violated',
    operation: 'read',
    agent: L(['a'], ['i']),
    resource: R(['b'], []),
    violated: ['read-secrecy', 'read-integrity'],
    propagated: L(['a', 'b'], []),
  },
  { name: 'write: both rules hold', operation: 'write', agent: L(['s'], ['i', 'j']), resource: R(['s', 't'], ['i']), violated: [] },
  { name: 'write: agent secrecy not within resource secrecy', operation: 'write', agent: L(['s'], []), resource: R([], []), violated: ['write-secrecy'] },
  { name: 'write: resource integrity not within agent integrity', operation: 'write', agent: L([], []), resource: R([], ['i']), violated: ['write-integrity'] },
  { name: 'write: both rules violated', operation: 'write', agent: L(['s'], []), resource: R([], ['i']), violated: ['write-secrecy', 'write-integrity'] },
  { name: 'read-write: all four rules hold', operation: 'read-write', agent: L(['s'], ['i']), resource: R(['s'], ['i']), violated: [] },
  { name: 'read-write: read secrecy row violated', operation: 'read-write', agent: L([], []), resource: R(['s'], []), violated: ['read-secrecy'] },
  { name: 'read-write: read integrity row violated', operation: 'read-write', agent: L([], ['i']), resource: R([], []), violated: ['read-integrity'] },
  { name: 'read-write: write secrecy row violated', operation: 'read-write', agent: L(['s'], []), resource: R([], []), violated: ['write-secrecy'] },
  { name: 'read-write: write integrity row violated', operation: 'read-write', agent: L([], []), resource: R([], ['i']), violated: ['write-integrity'] },
  { name: 'write: a sink with secrecy * accepts a secret agent', operation: 'write', agent: L(['s', 't'], []), resource: R(['*'], []), violated: [] },
  { name: 'write: an agent with integrity * may write anywhere', operation: 'write', agent: L([], ['*']), resource: R([], ['i']), violated: [] },
  { name: 'read: an agent with secrecy * may read anything', operation: 'read', agent: L(['*'], []), resource: R(['s'], []), violated: [] },
  { name: 'read: a resource with integrity * satisfies any agent', operation: 'read', agent: L([], ['i']), resource: R([], ['*']), violated: [] },
  { name: 'read: * on the subset side is a plain tag', operation: 'read', agent: L(['s'], []), resource: R(['*'], []), violated: ['read-secrecy'], propagated: L(['*', 's'], []) },
];

describe('flow table × modes', () => {
  const cases = rows.flatMap((row) => MODES.map((m) => ({ ...row, mode: m, label: `${row.name} [${m}]` })));

  it.each(cases)('$label', ({ operation, agent, resource, violated, propagated, mode }) => {
    const e = evaluate({ agent, resource, operation });
    expect(e.violations.map((v) => v.rule)).toEqual(violated);
    expect(e.checks.map((c) => c.rule)).toEqual(rulesFor(operation));
    expect(e.secrecyViolation).toBe(violated.some((r) => r.endsWith('secrecy')));
    expect(e.integrityViolation).toBe(violated.some((r) => r.endsWith('integrity')));

    // The modes act in the pipeline: the coarse check before the call, then the response check.
    const coarse = coarseCheck({ agent, resource, operation, mode });
    const before = Labels.of(agent).toLabelsJson();
    if (violated.length === 0) {
      expect(e.decision).toBe('allow');
      expect(e.reason).toBeUndefined();
      expect(coarse.outcome).toBe('allow');
      return;
    }
    expect(e.decision).toBe('deny');
    expect(e.reason).toMatch(new RegExp(`^${operation} of 'repo octo/x' denied: `));
    if (operation !== 'read') {
      // Anything that writes is judged strictly in every mode: denied before the call, no labels move.
      expect(coarse.outcome).toBe('deny');
      expect(coarse.reason).toBe(e.reason);
      return;
    }
    // A read proceeds to the response check; a whole result under the resource labels:
    // strict and filter withhold it, propagate shows it and moves the agent.
    expect(coarse.outcome).toBe('check-response');
    const out = labelResponse({ result: { id: 1 }, resource, agent, operation, mode });
    if (mode === 'propagate') {
      expect(out.decision).toBe('allow');
      expect(out.agent).toEqual(propagated);
      expect(out.reason).toMatch(/allowed in propagate mode/);
    } else {
      expect(out.decision).toBe('deny');
      expect(out.agent).toEqual(before);
    }
  });
});

describe('reasons', () => {
  it('names the resource, the missing tags and the rule', () => {
    const e = evaluate({
      agent: L([], []),
      resource: { description: 'private repo octo/x', secrecy: ['private:octo/x'], integrity: [] },
      operation: 'read',
    });
    expect(e.reason).toBe(
      "read of 'private repo octo/x' denied: agent secrecy lacks [private:octo/x] (resource secrecy must be a subset of agent secrecy)",
    );
  });

  it.each([
    ['read', L([], ['approved']), R([], []), 'resource integrity lacks [approved] (agent integrity must be a subset of resource integrity)'],
    ['write', L(['s'], []), R([], []), 'resource secrecy lacks [s] (agent secrecy must be a subset of resource secrecy)'],
    ['write', L([], []), R([], ['approved']), 'agent integrity lacks [approved] (resource integrity must be a subset of agent integrity)'],
  ] as const)('%s violation explained as "%s"', (op, agent, resource, text) => {
    expect(evaluate({ agent, resource, operation: op }).reason).toBe(`${op} of 'repo octo/x' denied: ${text}`);
  });

  it('joins several violations and lists several missing tags sorted', () => {
    const e = evaluate({ agent: L([], ['z']), resource: R(['b', 'a'], []), operation: 'read' });
    expect(e.reason).toBe(
      "read of 'repo octo/x' denied: agent secrecy lacks [a, b] (resource secrecy must be a subset of agent secrecy); " +
        'resource integrity lacks [z] (agent integrity must be a subset of resource integrity)',
    );
  });

  it('says "the resource" when it has no description', () => {
    expect(evaluate({ agent: L([], []), resource: { secrecy: ['s'], integrity: [] }, operation: 'read' }).reason).toMatch(
      /^read of the resource denied/,
    );
  });

  it('describes what propagation changed', () => {
    const out = labelResponse({ result: { id: 1 }, resource: R(['s'], []), agent: L([], ['i']), operation: 'read', mode: 'propagate' });
    expect(out.reason).toBe("read of 'repo octo/x' allowed in propagate mode: agent secrecy gains [s]; agent integrity loses [i]");
    expect(out.agent).toEqual(L(['s'], []));
  });

  it('every rule text states the subset relation of its row', () => {
    expect(FLOW_RULES['read-secrecy'].text).toBe('resource secrecy must be a subset of agent secrecy');
    expect(FLOW_RULES['read-integrity'].text).toBe('agent integrity must be a subset of resource integrity');
    expect(FLOW_RULES['write-secrecy'].text).toBe('agent secrecy must be a subset of resource secrecy');
    expect(FLOW_RULES['write-integrity'].text).toBe('resource integrity must be a subset of agent integrity');
  });
});

describe('lattice laws (properties)', () => {
  it('the decision in strict mode is allow exactly when the set-theoretic rules hold', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, operation, (agent, resource, op) => {
        const readOk = isSubset(resource.secrecy, agent.secrecy) && isSubset(agent.integrity, resource.integrity);
        const writeOk = isSubset(agent.secrecy, resource.secrecy) && isSubset(resource.integrity, agent.integrity);
        const ok = op === 'read' ? readOk : op === 'write' ? writeOk : readOk && writeOk;
        expect(evaluate({ agent, resource, operation: op }).decision).toBe(ok ? 'allow' : 'deny');
        expect(checkFlow(Labels.of(agent), Labels.of(resource), op).every((c) => c.ok)).toBe(ok);
      }),
    );
  });

  it('propagation only adds secrecy and only removes integrity', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, (agent, resource) => {
        const after = propagateRead(Labels.of(agent), Labels.of(resource));
        expect(isSubset(agent.secrecy, after.secrecy.tags)).toBe(true);
        expect(isSubset(after.integrity.tags, agent.integrity)).toBe(true);
        const added = after.secrecy.tags.filter((t) => !agent.secrecy.includes(t));
        expect(isSubset(added, resource.secrecy)).toBe(true);
      }),
    );
  });

  it('after propagating a read, the same read passes the strict check', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, (agent, resource) => {
        const moved = propagateRead(Labels.of(agent), Labels.of(resource));
        expect(evaluate({ agent: moved, resource, operation: 'read' }).decision).toBe('allow');
      }),
    );
  });

  it('propagation is the least move: secrecy joins, integrity meets', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, (agent, resource) => {
        const after = propagateRead(Labels.of(agent), Labels.of(resource));
        expect(after.secrecy.tags).toEqual([...new Set([...agent.secrecy, ...resource.secrecy])].sort());
        expect(after.integrity.tags).toEqual(agent.integrity.filter((t) => resource.integrity.includes(t)).sort());
      }),
    );
  });

  it('labels never move in strict or filter mode, nor for a write', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, operation, mode, (agent, resource, op, m: Mode) => {
        fc.pre(m !== 'propagate' || op === 'write');
        const out = labelResponse({ result: { id: 1 }, resource, agent, operation: op, mode: m });
        expect(out.agent).toEqual(Labels.of(agent).toLabelsJson());
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accumulatesReadLabels,
  coarseCheck,
  isMode,
  mustLabelResponse,
  parseOperation,
  type CoarseOutcome,
} from '../../src/difc/pipeline.js';
import { MODES, OPERATIONS, type LabelsJson, type Mode, type Operation, type ResourceLabelsJson } from '../../src/difc/types.js';
import { labelsJson, mode, operation, resourceJson } from './arbitraries.js';

const L = (secrecy: string[], integrity: string[]): LabelsJson => ({ secrecy, integrity });
const R = (secrecy: string[], integrity: string[]): ResourceLabelsJson => ({ description: 'issues of octo/x', secrecy, integrity });

const situations: Record<string, { agent: LabelsJson; resource: ResourceLabelsJson }> = {
  clean: { agent: L(['s'], ['i']), resource: R(['s'], ['i']) },
  'read-row violated': { agent: L([], []), resource: R(['s'], []) },
  'write-row violated': { agent: L(['s'], []), resource: R([], []) },
};

// Expected coarse outcome by situation and operation; the mode never changes it.
const expected: Record<string, Record<Operation, CoarseOutcome>> = {
  clean: { read: 'allow', write: 'allow', 'read-write': 'allow' },
  'read-row violated': { read: 'check-response', write: 'allow', 'read-write': 'deny' },
  'write-row violated': { read: 'allow', write: 'deny', 'read-write': 'deny' },
};

describe('coarse check (docs/contract.md §1, step 2)', () => {
  const cases = Object.entries(situations).flatMap(([situation, labels]) =>
    OPERATIONS.flatMap((op) => MODES.map((m) => ({ situation, op, m, ...labels, outcome: expected[situation]?.[op] }))),
  );

  it.each(cases)('$situation, $op, $m → $outcome', ({ situation, agent, resource, op, m, outcome }) => {
    const c = coarseCheck({ agent, resource, operation: op, mode: m });
    expect(c.outcome).toBe(outcome);
    expect(c.decision).toBe(outcome === 'deny' ? 'deny' : 'allow');
    // A reply is data the agent reads: checked whenever the resource labels would not pass a read.
    const readFails = situation === 'read-row violated';
    expect(c.checkResponse).toBe(outcome === 'check-response' || (outcome === 'allow' && (mustLabelResponse(op, m) || readFails)));
    if (outcome === 'deny') expect(c.reason).toMatch(/^(write|read-write) of 'issues of octo\/x' denied: .* lacks \[s\]/);
    if (outcome === 'check-response') {
      expect(c.reason).toBe(
        "read of 'issues of octo/x' needs a per-item response check: agent secrecy lacks [s] (resource secrecy must be a subset of agent secrecy)",
      );
    }
    if (outcome === 'allow') expect(c.reason).toBeUndefined();
  });

  it('a read never gets denied before the call; anything that writes and violates always does (property)', () => {
    fc.assert(
      fc.property(labelsJson, resourceJson, operation, mode, (agent, resource, op, m) => {
        const c = coarseCheck({ agent, resource, operation: op, mode: m });
        if (op === 'read') expect(c.decision).toBe('allow');
        if (c.evaluation.violations.length > 0 && op !== 'read') expect(c.outcome).toBe('deny');
        if (c.evaluation.violations.length === 0) expect(c.outcome).toBe('allow');
        // A violated read must never reach the agent unchecked.
        if (c.outcome === 'check-response') expect(c.checkResponse).toBe(true);
      }),
    );
  });
});

describe('response-time steps by operation and mode', () => {
  const table: Array<[Operation, Mode, boolean, boolean]> = [
    // operation, mode, label_response called, read labels accumulate
    ['read', 'strict', true, false],
    ['read', 'filter', true, false],
    ['read', 'propagate', true, true],
    ['write', 'strict', false, false],
    ['write', 'filter', false, false],
    ['write', 'propagate', false, false],
    ['read-write', 'strict', false, false],
    ['read-write', 'filter', true, false],
    ['read-write', 'propagate', true, true],
  ];
  it.each(table)('%s in %s: label_response %s, accumulate %s', (op, m, label, accumulate) => {
    expect(mustLabelResponse(op, m)).toBe(label);
    expect(accumulatesReadLabels(op, m)).toBe(accumulate);
  });
});

describe('parsing', () => {
  it.each([
    ['read', 'read'],
    ['write', 'write'],
    ['read-write', 'read-write'],
    [undefined, 'write'],
    ['READ', 'write'],
    ['delete', 'write'],
    [null, 'write'],
    [1, 'write'],
  ] as const)('operation %j → %s (missing or unknown is write)', (value, op) => {
    expect(parseOperation(value)).toBe(op);
  });

  it('recognises exactly the three modes', () => {
    expect(MODES.every(isMode)).toBe(true);
    expect(isMode('Strict')).toBe(false);
    expect(isMode(undefined)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { SpinBudget } from '../../src/pool/channel.js';

describe('SpinBudget', () => {
  it('keeps the full budget while requests come within it', () => {
    const spin = new SpinBudget(0.1);
    for (let i = 0; i < 10; i++) spin.waited(0.02);
    expect(spin.ms).toBe(0.1);
  });

  it('halves after each longer gap, down to no spin at all', () => {
    const spin = new SpinBudget(0.1);
    const seen = [];
    for (let i = 0; i < 6; i++) {
      spin.waited(0.5);
      seen.push(spin.ms);
    }
    expect(seen).toEqual([0.05, 0.025, 0.0125, 0.00625, 0.003125, 0]);
  });

  it('earns the full budget back as soon as a request comes within it again', () => {
    const spin = new SpinBudget(0.1);
    for (let i = 0; i < 6; i++) spin.waited(1);
    expect(spin.ms).toBe(0);
    spin.waited(0.08);
    expect(spin.ms).toBe(0.1);
  });
});

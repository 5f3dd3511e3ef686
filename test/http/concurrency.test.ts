/**
 * Concurrent requests with different policies over real HTTP: every answer
 * must come from an instance holding the request's own policy (the Rust
 * guard names it in its descriptions, and labels items with its org).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUST_GUARD, startService, type TestService } from '../support/server.js';

interface Variant {
  policy?: Record<string, unknown>;
  /** The policy as the Rust guard names it in label_resource descriptions. */
  text: string;
  org: string;
  agent: { secrecy: string[]; integrity: string[] };
  mode: string;
}

const VARIANTS: Variant[] = [
  {
    policy: { 'allow-only': { repos: 'public' } },
    text: '{"min-integrity":"none","repos":"public"}',
    org: 'octo-org',
    agent: { secrecy: [], integrity: [] },
    mode: 'filter',
  },
  {
    policy: { 'allow-only': { repos: ['acme/x'], 'min-integrity': 'approved' }, difc_mode: 'propagate' },
    text: '{"min-integrity":"approved","repos":["acme/x"]}',
    org: 'acme',
    agent: { secrecy: ['private:acme/x'], integrity: ['approved:acme'] },
    mode: 'propagate',
  },
  {
    policy: { 'allow-only': { repos: 'all', org: 'zeta', 'min-integrity': 'approved' }, difc_mode: 'strict' },
    text: '{"min-integrity":"approved","org":"zeta","repos":"all"}',
    org: 'zeta',
    agent: { secrecy: ['*'], integrity: ['approved:zeta'] },
    mode: 'strict',
  },
  // No policy: an instance that never ran label_agent (its org is the built-in octo-org).
  { text: 'none', org: 'octo-org', agent: { secrecy: [], integrity: [] }, mode: 'strict' },
];

let s: TestService;

beforeAll(async () => {
  s = await startService({ guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 2, queueTimeoutMs: 30_000 }] });
});
afterAll(() => s?.close());

describe('concurrent requests with different policies', () => {
  it('100 interleaved /v1/evaluate requests each get labels under their own policy', async () => {
    const requests = Array.from({ length: 100 }, (_, i) => {
      const variant = VARIANTS[i % VARIANTS.length]!;
      const repo = `r${i}`;
      return s
        .post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', args: { owner: 'o', repo }, ...(variant.policy ? { policy: variant.policy } : {}) })
        .then((reply) => ({ reply, variant, repo }));
    });
    const results = await Promise.all(requests);
    for (const { reply, variant, repo } of results) {
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body.resource.description).toBe(`get_issue repo o/${repo} under policy ${variant.text}`);
      expect(reply.body.agent).toEqual(variant.agent);
      expect(reply.body.mode).toBe(variant.mode);
    }
    expect(new Set(results.map((r) => r.reply.body.decision_id)).size).toBe(100);
  });

  it('100 interleaved /v1/evaluate/response requests label items with their own policy', async () => {
    const requests = Array.from({ length: 100 }, (_, i) => {
      const variant = VARIANTS[(i * 7) % VARIANTS.length]!;
      return s
        .post('/v1/evaluate/response', {
          guard: 'rust',
          tool: 'list_issues',
          args: { owner: 'o', repo: 'r' },
          result: { items: [{ n: i, author_association: 'MEMBER' }] },
          // propagate everywhere: nothing is removed, so the labels are all visible.
          mode: 'propagate',
          ...(variant.policy ? { policy: variant.policy } : {}),
        })
        .then((reply) => ({ reply, variant, i }));
    });
    for (const { reply, variant, i } of await Promise.all(requests)) {
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body.result).toEqual({ items: [{ n: i, author_association: 'MEMBER' }] });
      expect(reply.body.labels).toEqual([expect.objectContaining({ path: '/items/0', integrity: [`approved:${variant.org}`] })]);
    }
  });

  it('the pool is idle and healthy afterwards', async () => {
    const guard = await s.waitForGuard('rust', (g) => g.pool.instances.busy === 0);
    expect(guard.pool).toMatchObject({ healthy: true, queueLength: 0, instances: { idle: 2, busy: 0, poisoned: 0 } });
  });
});

// The chart's session store and API tokens come from Secrets (issue 19).
import { describe, expect, it } from 'vitest';
import { byKind, dig, type Obj, renderChart } from './chart.js';

type Container = Obj & { name: string; env?: Array<{ name: string; value?: string; valueFrom?: Obj }>; volumeMounts?: Obj[] };

function wasmguard(over: Obj): { container: Container; volumes: Obj[] } {
  const [dep] = byKind(renderChart(over).docs, 'Deployment');
  const spec = dig(dep!, 'spec.template.spec') as Obj;
  const container = (spec.containers as Container[]).find((c) => c.name === 'wasmguard')!;
  return { container, volumes: spec.volumes as Obj[] };
}

describe('chart: sessions and authentication from Secrets', () => {
  it('by default: no store, no tokens (memory sessions, no authentication), and the host is set explicitly', () => {
    const { container } = wasmguard({});
    const names = container.env!.map((e) => e.name);
    expect(names).not.toContain('WASMGUARD_SESSION_STORE');
    expect(names).not.toContain('WASMGUARD_API_TOKENS_FILE');
    expect(container.env!.find((e) => e.name === 'WASMGUARD_HOST')?.value).toBe('0.0.0.0');
  });

  it('sessions.storeSecret: WASMGUARD_SESSION_STORE from the Secret key; ttlSeconds sets the TTL', () => {
    const { container } = wasmguard({ sessions: { storeSecret: { name: 'wasmguard-redis', key: 'url' }, ttlSeconds: 900 } });
    expect(container.env!.find((e) => e.name === 'WASMGUARD_SESSION_STORE')).toEqual({
      name: 'WASMGUARD_SESSION_STORE',
      valueFrom: { secretKeyRef: { name: 'wasmguard-redis', key: 'url' } },
    });
    expect(container.env!.find((e) => e.name === 'WASMGUARD_SESSION_TTL_S')?.value).toBe('900');
  });

  it('auth.tokensSecret: the Secret mounted read-only and named by WASMGUARD_API_TOKENS_FILE', () => {
    const { container, volumes } = wasmguard({ auth: { tokensSecret: { name: 'wasmguard-tokens', key: 'tokens' } } });
    expect(container.env!.find((e) => e.name === 'WASMGUARD_API_TOKENS_FILE')?.value).toBe('/etc/wasmguard/tokens/tokens');
    expect(container.volumeMounts).toContainEqual({ name: 'api-tokens', mountPath: '/etc/wasmguard/tokens', readOnly: true });
    expect(volumes).toContainEqual({ name: 'api-tokens', secret: { secretName: 'wasmguard-tokens', items: [{ key: 'tokens', path: 'tokens' }] } });
  });
});

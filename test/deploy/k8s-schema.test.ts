// The rendered charts against the Kubernetes API schemas of the charts'
// minimum Kubernetes version (issue 25 item 7), with the schema set the
// repository installs (test/deploy/k8s-schema.ts): every object of every
// values combination the repository documents, the example gateway chart and
// the plain sidecar manifest. Prometheus Operator kinds are CRDs, not in the
// API schema: they are checked by the chart tests instead.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { chartDir, dig, gatewayExampleDir, type Obj, readYaml, renderChart, sidecarLibraryDir } from './chart.js';
import { kubernetesValidator, schemaKubernetesVersion, type KubernetesValidator } from './k8s-schema.js';

const CRDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PodMonitor']);
const digest = `sha256:${'c'.repeat(64)}`;

let k8s: KubernetesValidator;
beforeAll(() => {
  k8s = kubernetesValidator();
}, 60_000);

/** Every object valid, or the problems by kind/name. */
function problems(docs: Obj[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    const id = `${String(d.apiVersion)}/${String(d.kind)}`;
    const errors = k8s.validate(d);
    if (errors === undefined) {
      if (!CRDS.has(id)) out.push(`${id}: no schema for this kind`);
      continue;
    }
    for (const e of errors) out.push(`${id} ${String(dig(d, 'metadata.name'))}: ${e}`);
  }
  return out;
}

const minimumVersion = (kubeVersion: unknown) => /^>=\s*(\d+\.\d+)/.exec(String(kubeVersion))?.[1];

describe('the schema set', () => {
  it('is the Kubernetes version every chart declares as its minimum', () => {
    for (const dir of [chartDir, sidecarLibraryDir, gatewayExampleDir]) {
      expect(minimumVersion((readYaml(join(dir, 'Chart.yaml')) as Obj).kubeVersion), dir).toBe(schemaKubernetesVersion());
    }
  });

  it('knows every built-in kind the charts render', () => {
    expect(k8s.kinds.sort()).toEqual(
      [
        'apps/v1/Deployment',
        'autoscaling/v2/HorizontalPodAutoscaler',
        'policy/v1/PodDisruptionBudget',
        'v1/ConfigMap',
        'v1/Pod',
        'v1/Service',
        'v1/ServiceAccount',
      ].sort(),
    );
  });

  it('catches what the API server would refuse (it is not a no-op)', () => {
    const [dep] = renderChart().docs.filter((d) => d.kind === 'Deployment');
    const typo = structuredClone(dep!);
    (dig(typo, 'spec.template.spec') as Obj).topologySpreadConstraint = [];
    expect(problems([typo])).toEqual([expect.stringContaining('must NOT have additional properties "topologySpreadConstraint"')]);
    const noSelector = structuredClone(dep!);
    delete (noSelector.spec as Obj).selector;
    expect(problems([noSelector]).join('\n')).toContain("must have required property 'selector'");
    const badPort = structuredClone(dep!);
    ((dig(badPort, 'spec.template.spec.containers.0.ports') as Obj[])[0]!).containerPort = '8080';
    expect(problems([badPort]).join('\n')).toContain('containerPort must be number');
  });
});

describe(`helm/wasmguard rendered against the Kubernetes ${schemaKubernetesVersion()} API schemas`, () => {
  const examples = readdirSync(join(chartDir, 'examples')).filter((f) => /^values-.*\.ya?ml$/.test(f));
  const cases: [string, Obj][] = [
    ['the defaults', {}],
    ...examples.map((f): [string, Obj] => [`examples/${f}`, readYaml(join(chartDir, 'examples', f)) as Obj]),
    ['autoscaling on CPU and memory, behavior set', { autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80, behavior: { scaleDown: { stabilizationWindowSeconds: 300 } } } }],
    ['diagnostics off, exec preStop, PDB by minAvailable', { diagnostics: { enabled: false }, shutdown: { preStopAction: 'exec' }, podDisruptionBudget: { minAvailable: '50%', maxUnavailable: null } }],
    ['guards copied from a guard image by an init container', { guardImage: { repository: 'r/guards', digest } }],
    ['custom guards in a ConfigMap, pool size set, image by digest', { customGuards: { g: 'AGFzbQEAAAA=' }, wasmguard: { poolSize: 2, guardsDir: '/etc/wasmguard/guards' }, image: { digest } }],
    ['hard topology spread', { topologySpread: { whenUnsatisfiable: 'DoNotSchedule' } }],
  ];

  it.each(cases)('%s', (_label, values) => {
    const docs = renderChart(values).docs;
    expect(docs.length).toBeGreaterThan(4);
    expect(problems(docs)).toEqual([]);
  });

  it('the image volume mode is refused by the 1.30 schema: it needs a cluster with image volumes (documented)', () => {
    const docs = renderChart({ guardImage: { repository: 'r/guards', digest, mode: 'imageVolume' } }).docs;
    expect(problems(docs)).toEqual([
      expect.stringMatching(/^apps\/v1\/Deployment pdp-wasmguard: \/spec\/template\/spec\/volumes\/\d+ must NOT have additional properties "image"$/),
    ]);
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    expect(readme).toMatch(/imageVolume[^\n]*1\.3[1-9]/);
  });
});

describe('the sidecar snippet and the example gateway chart against the same schemas', () => {
  it('examples/gateway (with its PodMonitor) renders valid objects', () => {
    expect(problems(renderChart({ podMonitor: { enabled: true } }, { name: 'gw', namespace: 'edge' }, gatewayExampleDir).docs)).toEqual([]);
  });

  it('examples/sidecar-pod.yaml is a valid ConfigMap and Pod', () => {
    const docs = parseAllDocuments(readFileSync(join(chartDir, 'examples', 'sidecar-pod.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Pod']);
    expect(problems(docs)).toEqual([]);
  });
});

// The Helm chart, validated without a helm binary (none exists on the dev
// machine or in CI): every YAML file parses, values and the example values
// validate against values.schema.json, the templates only reference values
// that exist, and the chart renders (with test/deploy/gotmpl.ts, a Go
// template renderer for the subset the chart uses) to the objects docs/contract.md
// and issue 7 ask for.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { choosePoolSize } from '../../src/config/pool-sizing.js';
import { startServerProcess } from '../support/process.js';
import { commandOf, parseDockerfile } from './dockerfile.js';
import { BackendConfigSchema, ConfigFileSchema, GuardConfigSchema, ServerConfigSchema } from '../../src/config/schema.js';
import {
  byKind,
  chartDir,
  coalesce,
  defaultValues,
  dig,
  isObj,
  type Obj,
  readYaml,
  gatewayExampleDir,
  renderChart,
  repoRoot,
  sidecarLibraryDir,
  templateFiles,
} from './chart.js';

const execFileP = promisify(execFile);

function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p));
    else out.push(p);
  }
  return out.sort();
}

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Obj;
const ajv = new Ajv({ allErrors: true, strict: true });
const validateValues: ValidateFunction = ajv.compile(schema);

function schemaErrors(values: unknown): string[] {
  return validateValues(values) ? [] : (validateValues.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const exampleValueFiles = readdirSync(join(chartDir, 'examples'))
  .filter((f) => /^values-.*\.ya?ml$/.test(f))
  .sort();

type Container = Obj & { name: string; env?: { name: string; value?: string }[] };

function podSpec(docs: Obj[]): Obj {
  const [dep] = byKind(docs, 'Deployment');
  expect(dep).toBeDefined();
  return dig(dep, 'spec.template.spec') as Obj;
}

function wasmguardContainer(docs: Obj[]): Container {
  const spec = podSpec(docs);
  const all = [...((spec.initContainers as Container[]) ?? []), ...((spec.containers as Container[]) ?? [])];
  const c = all.find((x) => x.name === 'wasmguard');
  expect(c).toBeDefined();
  return c!;
}

function omitKey(o: Obj, key: string): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
}

/** The node binary of the image: the runtime stage's ENTRYPOINT (distroless has no node on PATH). */
function imageNode(): string {
  const { stages } = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  const ep = stages[stages.length - 1]!.instructions.find((i) => i.keyword === 'ENTRYPOINT')!;
  return commandOf(ep.rest).argv[0]!;
}

/** Helm hooks (the helm test pod) are not part of the release's workload. */
function isHook(d: Obj): boolean {
  const annotations = dig(d, 'metadata.annotations');
  return isObj(annotations) && 'helm.sh/hook' in annotations;
}

function envOf(c: Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

const CONTRACT_ENV = [
  'WASMGUARD_HOST',
  'WASMGUARD_PORT',
  'WASMGUARD_CONFIG',
  'WASMGUARD_GUARDS_DIR',
  'WASMGUARD_POOL_SIZE',
  'WASMGUARD_CALL_TIMEOUT_MS',
  'WASMGUARD_MEMORY_LIMIT_MB',
  'WASMGUARD_DEFAULT_MODE',
  'WASMGUARD_GRACE_MS',
  'WASMGUARD_DRAIN_MS',
  'WASMGUARD_LOG_LEVEL',
];

describe('chart files', () => {
  it('has the expected files', () => {
    expect(templateFiles()).toEqual([
      'NOTES.txt',
      '_helpers.tpl',
      'configmap.yaml',
      'deployment.yaml',
      'hpa.yaml',
      'pdb.yaml',
      'podmonitor.yaml',
      'service.yaml',
      'serviceaccount.yaml',
      'servicemonitor.yaml',
      'tests/_helm-test-script.tpl',
      'tests/test-decision.yaml',
    ]);
    const files = walkFiles(chartDir).map((f) => relative(chartDir, f));
    for (const f of [
      'Chart.yaml',
      'values.yaml',
      'values.schema.json',
      'README.md',
      'examples/sidecar-pod.yaml',
      'examples/values-custom-guard.yaml',
      'examples/values-guard-image.yaml',
      'examples/gateway/Chart.yaml',
      'examples/gateway/values.yaml',
      'examples/gateway/templates/deployment.yaml',
    ]) {
      expect(files).toContain(f);
    }
    expect(templateFiles(sidecarLibraryDir)).toEqual(['_sidecar.tpl']);
  });

  it('every non-template YAML file parses cleanly (no errors, no warnings)', () => {
    const yamlFiles = walkFiles(join(repoRoot, 'helm')).filter((f) => /\.ya?ml$/.test(f) && !f.split(sep).includes('templates'));
    expect(yamlFiles.length).toBeGreaterThanOrEqual(5);
    for (const f of yamlFiles) {
      const docs = parseAllDocuments(readFileSync(f, 'utf8'));
      for (const d of docs) {
        expect([...d.errors, ...d.warnings].map((e) => `${relative(repoRoot, f)}: ${e.message}`)).toEqual([]);
      }
      expect(docs.length, f).toBeGreaterThan(0);
    }
  });

  it('Chart.yaml is a v2 application chart with SemVer versions', () => {
    const chart = readYaml(join(chartDir, 'Chart.yaml')) as Obj;
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('wasmguard');
    expect(chart.type).toBe('application');
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(String(chart.appVersion)).toMatch(/^\d+\.\d+\.\d+/);
    // The chart's appVersion is the version of the service it deploys.
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe('values.schema.json', () => {
  it('is a draft-07 schema that Ajv compiles in strict mode', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
  });

  it('accepts values.yaml', () => {
    expect(schemaErrors(defaultValues())).toEqual([]);
  });

  it.each(exampleValueFiles)('accepts examples/%s merged over the defaults (as helm validates)', (f) => {
    const over = readYaml(join(chartDir, 'examples', f)) as Obj;
    expect(schemaErrors(coalesce(defaultValues(), over))).toEqual([]);
  });

  it('covers every key of values.yaml, and has no entry values.yaml lacks', () => {
    const values = defaultValues();
    const props = schema.properties as Obj;
    expect(Object.keys(props).sort()).toEqual(Object.keys(values).sort());
    // Walk values.yaml: each key must be declared by the schema, down to the
    // objects the schema deliberately leaves free-form (no `properties`).
    const missing: string[] = [];
    const walk = (v: unknown, s: Obj | undefined, path: string) => {
      if (!isObj(v) || !s) return;
      const p = s.properties as Obj | undefined;
      if (!p) return;
      for (const [k, x] of Object.entries(v)) {
        const sub = p[k] as Obj | undefined;
        if (!sub) missing.push(`${path}${k}`);
        else walk(x, sub, `${path}${k}.`);
      }
    };
    walk(values, schema, '');
    expect(missing).toEqual([]);
  });

  const bad: [string, Obj][] = [
    ['an unknown top-level key (typo)', { replicas: 3 }],
    ['an unknown nested key (typo)', { shutdown: { graceMS: 1000 } }],
    ['a string where an integer belongs', { replicaCount: '2' }],
    ['an unknown DIFC mode', { wasmguard: { defaultMode: 'lenient' } }],
    ['an unknown log level', { wasmguard: { logLevel: 'verbose' } }],
    ['a zero pool size', { wasmguard: { poolSize: 0 } }],
    ['a bad preStop action', { shutdown: { preStopAction: 'wait' } }],
    ['a port out of range', { listen: { port: 70000 } }],
    ['a guard without a path', { config: { guards: { g: { mode: 'filter' } } } }],
    ['a relative guard path (it would resolve inside the config mount)', { config: { guards: { g: { path: 'guards/g.wasm' } } } }],
    ['an unknown config file field', { config: { server: { bodyLimit: 4096 } } }],
    ['an unknown guard field', { config: { guards: { g: { path: '/g.wasm', timeout: 5 } } } }],
    ['a guard with a malformed sha256', { config: { guards: { g: { path: '/x.wasm', sha256: 'abc' } } } }],
    ['a backend of unknown type', { config: { backends: { b: { type: 'grpc', url: 'http://x' } } } }],
    ['a custom guard that is not base64', { customGuards: { g: 'not base64!' } }],
    ['a custom guard with a bad name', { customGuards: { '../x': 'AGFzbQEAAAA=' } }],
    ['both PDB bounds', { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }],
    ['the removed sidecar mode', { sidecar: { enabled: true } }],
    ['a diagnostics port out of range', { diagnostics: { port: 0 } }],
    ['a guard image without a tag or digest', { guardImage: { repository: 'r/guards' } }],
    ['a guard image with a malformed digest', { guardImage: { repository: 'r/guards', digest: 'sha256:abc' } }],
    ['an unknown guard image mode', { guardImage: { repository: 'r/guards', tag: '1', mode: 'copy' } }],
    ['a relative guard image path', { guardImage: { repository: 'r/guards', tag: '1', path: 'guards' } }],
    ['an unknown spread rule', { topologySpread: { whenUnsatisfiable: 'Maybe' } }],
    ['an image digest that is not sha256', { image: { digest: 'latest' } }],
  ];
  it.each(bad)('rejects %s', (_label, over) => {
    expect(schemaErrors(coalesce(defaultValues(), over)).length).toBeGreaterThan(0);
  });
});

describe('config: the chart and the service agree on the config file', () => {
  // The service validates its config file with this schema (src/config/schema.ts).
  const serviceAjv = new Ajv({ allErrors: true, strict: false });
  const validateServiceFile = serviceAjv.compile(ConfigFileSchema);
  const chartConfig = dig(schema, 'properties.config') as Obj;
  const defs = schema.definitions as Obj;
  const names = (s: unknown) => Object.keys((s as { properties?: Obj }).properties ?? {}).sort();

  it('values.schema.json declares the same fields as the service schema, at every level', () => {
    expect(names(chartConfig)).toEqual(names(ConfigFileSchema));
    expect(names(dig(chartConfig, 'properties.server'))).toEqual(names(ServerConfigSchema));
    expect(names(defs.guard)).toEqual(names(GuardConfigSchema));
    expect(names(defs.backend)).toEqual(names(BackendConfigSchema));
    expect(defs.guard).toMatchObject({ additionalProperties: false, required: ['path'] });
    expect(defs.backend).toMatchObject({ additionalProperties: false });
    expect(chartConfig.additionalProperties).toBe(false);
  });

  it.each(['values.yaml', ...exampleValueFiles.map((f) => `examples/${f}`)])(
    'the config file rendered from %s is one the service accepts',
    (f) => {
      const over = f === 'values.yaml' ? {} : (readYaml(join(chartDir, f)) as Obj);
      const cm = byKind(renderChart(over).docs, 'ConfigMap').find((d) => String(dig(d, 'metadata.name')).endsWith('-config'))!;
      const file = readYamlText(String((cm.data as Obj)['config.yaml']));
      const ok = validateServiceFile(file);
      expect(ok ? [] : validateServiceFile.errors).toEqual([]);
    },
  );
});

describe('templates reference only values that exist', () => {
  const sources = Object.fromEntries(
    templateFiles().map((f) => [f, readFileSync(join(chartDir, 'templates', f), 'utf8')]),
  );
  const refs = new Set<string>();
  for (const src of Object.values(sources)) {
    for (const m of src.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1]!.slice(1));
  }

  it('finds references', () => {
    expect(refs.size).toBeGreaterThan(30);
  });

  it('every .Values.x.y in templates exists in values.yaml', () => {
    const values = defaultValues();
    const unknown: string[] = [];
    for (const ref of refs) {
      let cur: unknown = values;
      for (const part of ref.split('.')) {
        if (isObj(cur) && Object.keys(cur).length === 0) break; // free-form map, e.g. sidecar.gateway
        if (!isObj(cur) || !(part in cur)) {
          unknown.push(ref);
          break;
        }
        cur = cur[part];
      }
    }
    expect(unknown).toEqual([]);
  });

  it('every value in values.yaml is used by a template (no dead settings)', () => {
    const values = defaultValues();
    const unused: string[] = [];
    const used = (path: string) =>
      [...refs].some((r) => r === path || path.startsWith(`${r}.`) || r.startsWith(`${path}.`));
    const walk = (v: unknown, path: string, depth: number) => {
      if (!used(path)) unused.push(path);
      else if (isObj(v) && depth < 2) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, depth + 1);
    };
    for (const [k, v] of Object.entries(values)) walk(v, k, 0);
    // probes.* and resources.* are consumed whole through toYaml; that counts.
    expect(unused).toEqual([]);
  });
});

describe('rendered chart (defaults)', () => {
  const r = renderChart();
  const docs = r.docs;

  it('renders the expected kinds, each with apiVersion, name and namespace', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'Pod', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
    );
    for (const d of docs.filter((x) => !isHook(x))) {
      expect(d.apiVersion, String(d.kind)).toEqual(expect.any(String));
      expect(dig(d, 'metadata.name')).toBe('pdp-wasmguard' + (d.kind === 'ConfigMap' ? '-config' : ''));
      expect(dig(d, 'metadata.namespace')).toBe('policy');
      expect(dig(d, 'metadata.labels')).toMatchObject({
        'app.kubernetes.io/name': 'wasmguard',
        'app.kubernetes.io/instance': 'pdp',
        'app.kubernetes.io/managed-by': 'Helm',
      });
    }
    expect(byKind(docs, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(byKind(docs, 'ServiceMonitor')).toEqual([]);
    expect(byKind(docs, 'PodMonitor')).toEqual([]);
  });

  it('leaves no Go artefacts in the output', () => {
    for (const [f, text] of Object.entries(r.files)) {
      expect(text, f).not.toMatch(/<no value>|map\[|%!|\de\+\d/);
      expect(text, f).not.toContain('{{');
    }
  });

  it('probes: startup and liveness on /healthz, readiness on /readyz, on the diagnostics port', () => {
    const c = wasmguardContainer(docs);
    expect(dig(c, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'diagnostics' });
    expect(dig(c, 'startupProbe.httpGet')).toEqual({ path: '/healthz', port: 'diagnostics' });
    expect(dig(c, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'diagnostics' });
    expect(dig(c, 'readinessProbe.periodSeconds')).toBe(5);
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'diagnostics', containerPort: 9090, protocol: 'TCP' },
    ]);
    // With the diagnostics listener off, the probes use the API port.
    const off = wasmguardContainer(renderChart({ diagnostics: { enabled: false } }).docs);
    expect(dig(off, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'http' });
    expect(off.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(envOf(off).WASMGUARD_DIAGNOSTICS_PORT).toBeUndefined();
    const [svc] = byKind(docs, 'Service');
    expect(dig(svc, 'spec.ports')).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(dig(svc, 'spec.selector')).toEqual(dig(byKind(docs, 'Deployment')[0], 'spec.selector.matchLabels'));
  });

  it('securityContext: non-root, read-only root FS, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    const c = wasmguardContainer(docs);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(podSpec(docs).securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(podSpec(docs).automountServiceAccountToken).toBe(false);
    // The root filesystem is read-only: /tmp is an emptyDir.
    expect(dig(c, 'volumeMounts')).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(podSpec(docs).volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } });
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
  });

  it('the container user is the Dockerfile USER', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const users = [...dockerfile.matchAll(/^USER\s+(\d+)(?::(\d+))?\s*$/gm)];
    expect(users.length).toBeGreaterThan(0);
    const [, uid, gid] = users[users.length - 1]!;
    expect(dig(wasmguardContainer(docs), 'securityContext.runAsUser')).toBe(Number(uid));
    expect(dig(wasmguardContainer(docs), 'securityContext.runAsGroup')).toBe(Number(gid));
  });

  it('sets the docs/contract.md §5 environment (pool size only when chosen)', () => {
    const env = envOf(wasmguardContainer(docs));
    expect(env).toEqual({
      WASMGUARD_HOST: '0.0.0.0',
      WASMGUARD_PORT: '8080',
      WASMGUARD_DIAGNOSTICS_HOST: '0.0.0.0',
      WASMGUARD_DIAGNOSTICS_PORT: '9090',
      WASMGUARD_CONFIG: '/etc/wasmguard/config/config.yaml',
      WASMGUARD_CALL_TIMEOUT_MS: '1000',
      WASMGUARD_MEMORY_LIMIT_MB: '32',
      WASMGUARD_DEFAULT_MODE: 'strict',
      WASMGUARD_GRACE_MS: '10000',
      WASMGUARD_DRAIN_MS: '5000',
      WASMGUARD_LOG_LEVEL: 'info',
    });
    const env2 = envOf(wasmguardContainer(renderChart({ wasmguard: { poolSize: 3, poolWarm: 2, poolIdleMs: 0, guardsDir: '/etc/wasmguard/guards' } }).docs));
    expect(Object.keys(env2).sort()).toEqual(
      [...CONTRACT_ENV, 'WASMGUARD_DIAGNOSTICS_HOST', 'WASMGUARD_DIAGNOSTICS_PORT', 'WASMGUARD_POOL_WARM', 'WASMGUARD_POOL_IDLE_MS'].sort(),
    );
    expect(env2.WASMGUARD_POOL_SIZE).toBe('3');
    expect(env2.WASMGUARD_POOL_WARM).toBe('2');
    // 0 is passed on (it keeps grown instances), unlike an unset value.
    expect(env2.WASMGUARD_POOL_IDLE_MS).toBe('0');
    expect(env2.WASMGUARD_GUARDS_DIR).toBe('/etc/wasmguard/guards');
  });

  it('WASMGUARD_CONFIG names the mounted ConfigMap key', () => {
    const c = wasmguardContainer(docs);
    const [cm] = byKind(docs, 'ConfigMap');
    const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'config')!;
    expect(mount.readOnly).toBe(true);
    const vol = (podSpec(docs).volumes as Obj[]).find((v) => v.name === 'config')!;
    expect(dig(vol, 'configMap.name')).toBe(dig(cm, 'metadata.name'));
    const file = envOf(c).WASMGUARD_CONFIG!;
    expect(file.startsWith(`${String(mount.mountPath)}/`)).toBe(true);
    expect(Object.keys(cm!.data as Obj)).toEqual([file.slice(String(mount.mountPath).length + 1)]);
  });

  it('terminationGracePeriodSeconds = preStop + grace + margin, and preStop sleeps', () => {
    const spec = podSpec(docs);
    expect(spec.terminationGracePeriodSeconds).toBe(5 + 10 + 5);
    expect(dig(wasmguardContainer(docs), 'lifecycle.preStop')).toEqual({ sleep: { seconds: 5 } });
  });

  it('PodDisruptionBudget selects the pods', () => {
    const [pdb] = byKind(docs, 'PodDisruptionBudget');
    expect(dig(pdb, 'spec.maxUnavailable')).toBe(1);
    expect(dig(pdb, 'spec.minAvailable')).toBeUndefined();
    expect(dig(pdb, 'spec.selector.matchLabels')).toEqual(dig(byKind(docs, 'Deployment')[0], 'spec.template.metadata.labels'));
  });

  it('NOTES.txt renders', () => {
    expect(r.notes).toContain('http://pdp-wasmguard.policy.svc:8080');
    expect(r.notes).toContain('terminationGracePeriodSeconds 20');
  });
});

describe('rendered chart (settings)', () => {
  it.each([
    [{ graceMs: 10000, preStopSleepSeconds: 5, terminationMarginSeconds: 5 }, 20],
    [{ graceMs: 2500, preStopSleepSeconds: 5, terminationMarginSeconds: 5 }, 13],
    [{ graceMs: 30000, preStopSleepSeconds: 10, terminationMarginSeconds: 2 }, 42],
    [{ graceMs: 0, preStopSleepSeconds: 0, terminationMarginSeconds: 3 }, 3],
    [{ graceMs: 1000000, preStopSleepSeconds: 5, terminationMarginSeconds: 5 }, 1010],
  ])('shutdown %j gives terminationGracePeriodSeconds %i and a matching WASMGUARD_GRACE_MS', (shutdown, total) => {
    const docs = renderChart({ shutdown }).docs;
    expect(podSpec(docs).terminationGracePeriodSeconds).toBe(total);
    const c = wasmguardContainer(docs);
    // Large numbers must not come out as 1e+06 (Helm's float64 printing).
    expect(envOf(c).WASMGUARD_GRACE_MS).toBe(String(shutdown.graceMs));
    if (shutdown.preStopSleepSeconds === 0) expect(c.lifecycle).toBeUndefined();
    else expect(dig(c, 'lifecycle.preStop.sleep.seconds')).toBe(shutdown.preStopSleepSeconds);
  });

  it('preStopAction exec sleeps with node for the same time', async () => {
    const c = wasmguardContainer(renderChart({ shutdown: { preStopAction: 'exec', preStopSleepSeconds: 1 } }).docs);
    const cmd = dig(c, 'lifecycle.preStop.exec.command') as string[];
    // The image's node (distroless: no node on PATH, no shell).
    expect(cmd.slice(0, 2)).toEqual([imageNode(), '-e']);
    const t0 = Date.now();
    await execFileP(process.execPath, cmd.slice(1));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it('autoscaling: an HPA on the Deployment, which then leaves replicas alone', () => {
    const docs = renderChart({ autoscaling: { enabled: true, targetMemoryUtilizationPercentage: 80 } }).docs;
    const [hpa] = byKind(docs, 'HorizontalPodAutoscaler');
    const [dep] = byKind(docs, 'Deployment');
    expect(dig(hpa, 'spec.scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dig(dep, 'metadata.name') });
    expect(dig(hpa, 'spec.minReplicas')).toBe(2);
    expect(dig(hpa, 'spec.maxReplicas')).toBe(10);
    expect((dig(hpa, 'spec.metrics') as Obj[]).map((m) => dig(m, 'resource.name'))).toEqual(['cpu', 'memory']);
    expect(dig(dep, 'spec.replicas')).toBeUndefined();
    expect(dig(renderChart().docs.find((d) => d.kind === 'Deployment'), 'spec.replicas')).toBe(2);
  });

  it('ServiceMonitor (opt-in) scrapes /metrics on the Service port', () => {
    const docs = renderChart({ metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } }).docs;
    const [sm] = byKind(docs, 'ServiceMonitor');
    const [svc] = byKind(docs, 'Service');
    expect(sm!.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(dig(sm, 'metadata.labels.release')).toBe('prom');
    expect(dig(sm, 'spec.endpoints')).toEqual([{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    const labels = dig(svc, 'metadata.labels') as Obj;
    for (const [k, v] of Object.entries(dig(sm, 'spec.selector.matchLabels') as Obj)) expect(labels[k]).toBe(v);
  });

  it('image: tag defaults to appVersion; a digest pins it', () => {
    expect(wasmguardContainer(renderChart().docs).image).toBe('wasmguard:0.1.0');
    expect(wasmguardContainer(renderChart({ image: { repository: 'r/wg', tag: '1.2.3' } }).docs).image).toBe('r/wg:1.2.3');
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(wasmguardContainer(renderChart({ image: { digest } }).docs).image).toBe(`wasmguard@${digest}`);
  });

  it('the config checksum annotation changes with the config', () => {
    const sum = (o: Obj) => dig(byKind(renderChart(o).docs, 'Deployment')[0], 'spec.template.metadata.annotations.checksum/config');
    expect(sum({})).toMatch(/^[0-9a-f]{64}$/);
    expect(sum({})).toBe(sum({}));
    expect(sum({ config: { server: { bodyLimitBytes: 1 } } })).not.toBe(sum({}));
  });

  it('watch: WASMGUARD_WATCH set and no config checksum, so config and guard updates reload in place instead of restarting pods', () => {
    const docs = renderChart({ wasmguard: { watch: true } }).docs;
    expect(envOf(wasmguardContainer(docs)).WASMGUARD_WATCH).toBe('true');
    expect(dig(byKind(docs, 'Deployment')[0], 'spec.template.metadata.annotations.checksum/config')).toBeUndefined();
    // Off (the default): no variable, and a config change rolls the pods as before.
    expect(envOf(wasmguardContainer(renderChart({}).docs)).WASMGUARD_WATCH).toBeUndefined();
    // The guards folder and the config are whole-folder ConfigMap mounts (no subPath), which the kubelet updates in place.
    const mounts = (wasmguardContainer(renderChart({ wasmguard: { watch: true }, customGuards: { x: 'AGFzbQEAAAA=' } }).docs) as Obj).volumeMounts as Obj[];
    for (const m of mounts.filter((m) => m.name === 'config' || m.name === 'guards')) expect(m.subPath).toBeUndefined();
  });

  it('fullnameOverride and a release name containing the chart name', () => {
    expect(dig(byKind(renderChart({ fullnameOverride: 'pdp' }).docs, 'Deployment')[0], 'metadata.name')).toBe('pdp');
    const docs = renderChart({}, { name: 'wasmguard-prod', namespace: 'x' }).docs;
    expect(dig(byKind(docs, 'Deployment')[0], 'metadata.name')).toBe('wasmguard-prod');
  });
});

describe('examples/values-custom-guard.yaml', () => {
  const over = readYaml(join(chartDir, 'examples', 'values-custom-guard.yaml')) as Obj;
  const docs = renderChart(over).docs;

  it('renders the config file from values in the docs/contract.md §5 shape', () => {
    const cm = byKind(docs, 'ConfigMap').find((d) => String(dig(d, 'metadata.name')).endsWith('-config'))!;
    const file = readYamlText(String((cm.data as Obj)['config.yaml']));
    expect(file).toEqual(over.config);
    expect(Object.keys(file as Obj).sort()).toEqual(['backends', 'guards', 'server']);
    expect(dig(file, 'backends.github-mcp.headers.authorization')).toBe('env:GITHUB_MCP_TOKEN');
  });

  it('ships custom guards as binaryData, mounted where the config points', () => {
    const cm = byKind(docs, 'ConfigMap').find((d) => String(dig(d, 'metadata.name')).endsWith('-guards'))!;
    const bin = cm.binaryData as Record<string, string>;
    expect(Object.keys(bin)).toEqual(['github.wasm']);
    expect([...Buffer.from(bin['github.wasm']!, 'base64').subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
    const c = wasmguardContainer(docs);
    const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'guards')!;
    expect(mount).toMatchObject({ mountPath: '/etc/wasmguard/guards', readOnly: true });
    expect(dig(over, 'config.guards.github.path')).toBe(`${String(mount.mountPath)}/github.wasm`);
    // Guards named in the config file and no WASMGUARD_GUARDS_DIR: the service loads exactly those.
    expect(envOf(c).WASMGUARD_GUARDS_DIR).toBeUndefined();
    const vol = (podSpec(docs).volumes as Obj[]).find((v) => v.name === 'guards')!;
    expect(dig(vol, 'configMap.name')).toBe(dig(cm, 'metadata.name'));
    // The secret reaches the env: header value through the environment.
    expect((c.env as Obj[]).find((e) => e.name === 'GITHUB_MCP_TOKEN')).toMatchObject({
      valueFrom: { secretKeyRef: { name: 'github-mcp', key: 'token' } },
    });
  });

  it('PDB uses minAvailable, HPA and ServiceMonitor are on', () => {
    expect(dig(byKind(docs, 'PodDisruptionBudget')[0], 'spec')).toMatchObject({ minAvailable: 1 });
    expect(dig(byKind(docs, 'PodDisruptionBudget')[0], 'spec.maxUnavailable')).toBeUndefined();
    expect(byKind(docs, 'HorizontalPodAutoscaler')).toHaveLength(1);
    expect(byKind(docs, 'ServiceMonitor')).toHaveLength(1);
  });
});

function readYamlText(text: string): unknown {
  const [doc] = parseAllDocuments(text);
  return doc!.toJS();
}

describe('pool size: the chart sets the memory limit the service sizes its pools from', () => {
  it('the default limit gives the 3 instances per sample guard the README promises, whatever the node\'s cores', () => {
    const values = defaultValues();
    expect(dig(values, 'wasmguard.poolSize')).toBeNull();
    const limit = String(dig(values, 'resources.limits.memory'));
    const mib = Number(/^(\d+)Mi$/.exec(limit)![1]);
    const memoryLimitMb = Number(dig(values, 'wasmguard.memoryLimitMb'));
    const samples = [
      { name: 'github', memoryLimitMb },
      { name: 'static', memoryLimitMb },
    ];
    for (const cores of [2, 8, 32, 128]) {
      const size = choosePoolSize(samples, { source: 'cgroup v2', memoryLimitBytes: mib * 1024 * 1024 }, cores).size;
      expect(size, `${cores} cores`).toBe(Math.min(cores, 3));
    }
    expect(readFileSync(join(chartDir, 'README.md'), 'utf8')).toContain('The default 512 Mi limit gives 3 instances of each of the two\nsample guards');
  });
});

describe('topology spread (default)', () => {
  it('spreads over nodes and zones with the chart\'s own selector labels', () => {
    const docs = renderChart().docs;
    const spec = podSpec(docs);
    const selector = dig(byKind(docs, 'Deployment')[0], 'spec.selector.matchLabels');
    const tsc = spec.topologySpreadConstraints as Obj[];
    expect(tsc.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of tsc) {
      expect(c).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', matchLabelKeys: ['pod-template-hash'] });
      expect(dig(c, 'labelSelector.matchLabels')).toEqual(selector);
    }
  });

  it('DoNotSchedule on request; explicit constraints replace the default; it can be turned off', () => {
    const hard = podSpec(renderChart({ topologySpread: { whenUnsatisfiable: 'DoNotSchedule', maxSkew: 2 } }).docs);
    expect((hard.topologySpreadConstraints as Obj[]).map((c) => [c.whenUnsatisfiable, c.maxSkew])).toEqual([
      ['DoNotSchedule', 2],
      ['DoNotSchedule', 2],
    ]);
    const own = [{ topologyKey: 'rack', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { a: 'b' } } }];
    expect(podSpec(renderChart({ topologySpreadConstraints: own }).docs).topologySpreadConstraints).toEqual(own);
    expect(podSpec(renderChart({ topologySpread: { enabled: false } }).docs).topologySpreadConstraints).toBeUndefined();
  });
});

describe('guards from an OCI image', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const guardImage = { repository: 'registry.example.com/guards', digest };

  it('initContainer mode: the guard image copies its guards into an emptyDir the service reads', () => {
    const docs = renderChart({ guardImage }).docs;
    const spec = podSpec(docs);
    const [copier] = spec.initContainers as Container[];
    expect(copier).toMatchObject({ name: 'guard-copy', image: `registry.example.com/guards@${digest}` });
    expect(copier!.command).toEqual(['cp', '-R', '/guards/.', '/copy/']);
    expect(copier!.volumeMounts).toEqual([{ name: 'guard-image', mountPath: '/copy' }]);
    expect(copier!.securityContext).toEqual(wasmguardContainer(docs).securityContext);
    expect(spec.volumes).toContainEqual({ name: 'guard-image', emptyDir: { sizeLimit: '64Mi' } });
    const c = wasmguardContainer(docs);
    expect(c.volumeMounts).toContainEqual({ name: 'guard-image', mountPath: '/etc/wasmguard/guard-image/guards', readOnly: true });
    // No guards named in the config file: every *.wasm of the image is loaded.
    expect(envOf(c).WASMGUARD_GUARDS_DIR).toBe('/etc/wasmguard/guard-image/guards');
  });

  it('the copy command really copies (run here with cp against a fake image folder)', async () => {
    const c = podSpec(renderChart({ guardImage: { ...guardImage, path: '/opt/g/' } }).docs).initContainers as Container[];
    const cmd = c[0]!.command as string[];
    expect(cmd).toEqual(['cp', '-R', '/opt/g/.', '/copy/']);
    const root = mkdtempSync(join(tmpdir(), 'guard-image-'));
    try {
      mkdirSync(join(root, 'opt', 'g', 'sub'), { recursive: true });
      mkdirSync(join(root, 'copy'));
      writeFileSync(join(root, 'opt', 'g', 'a.wasm'), 'A');
      writeFileSync(join(root, 'opt', 'g', 'sub', 'b.wasm'), 'B');
      // The image's paths, rebased under the fake root (string concatenation keeps the trailing /.).
      await execFileP(cmd[0]!, cmd.slice(1).map((a) => (a.startsWith('/') ? `${root}${a}` : a)));
      expect(readFileSync(join(root, 'copy', 'a.wasm'), 'utf8')).toBe('A');
      expect(readFileSync(join(root, 'copy', 'sub', 'b.wasm'), 'utf8')).toBe('B');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('imageVolume mode: an image volume pinned by digest, mounted read-only, no init container', () => {
    const docs = renderChart({ guardImage: { ...guardImage, mode: 'imageVolume' } }).docs;
    const spec = podSpec(docs);
    expect(spec.initContainers).toBeUndefined();
    expect(spec.volumes).toContainEqual({
      name: 'guard-image',
      image: { reference: `registry.example.com/guards@${digest}`, pullPolicy: 'IfNotPresent' },
    });
    const c = wasmguardContainer(docs);
    expect(c.volumeMounts).toContainEqual({ name: 'guard-image', mountPath: '/etc/wasmguard/guard-image', readOnly: true });
    expect(envOf(c).WASMGUARD_GUARDS_DIR).toBe('/etc/wasmguard/guard-image/guards');
  });

  it('a tag works when no digest is given; neither fails the render', () => {
    const c = podSpec(renderChart({ guardImage: { repository: 'r/g', tag: '7' } }).docs).initContainers as Container[];
    expect(c[0]!.image).toBe('r/g:7');
    expect(() => renderChart({ guardImage: { repository: 'r/g' } })).toThrow(/guardImage.digest/);
  });

  it('examples/values-guard-image.yaml: config.guards points into the image, so only those load', () => {
    const over = readYaml(join(chartDir, 'examples', 'values-guard-image.yaml')) as Obj;
    const docs = renderChart(over).docs;
    const c = wasmguardContainer(docs);
    expect(envOf(c).WASMGUARD_GUARDS_DIR).toBeUndefined();
    const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'guard-image')!;
    expect(String(dig(over, 'config.guards.github.path')).startsWith(`${String(mount.mountPath)}/`)).toBe(true);
    expect(dig(over, 'config.guards.github.sha256')).toMatch(/^[0-9a-f]{64}$/);
    // The guards are not in the release: no guards ConfigMap.
    expect(byKind(docs, 'ConfigMap').map((d) => dig(d, 'metadata.name'))).toEqual(['pdp-wasmguard-config']);
  });
});

describe('PodMonitor', () => {
  it('scrapes /metrics on each pod\'s diagnostics port (the API port when diagnostics are off)', () => {
    const docs = renderChart({ metrics: { podMonitor: { enabled: true, labels: { release: 'prom' } } } }).docs;
    const [pm] = byKind(docs, 'PodMonitor');
    expect(pm!.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(dig(pm, 'metadata.labels.release')).toBe('prom');
    expect(dig(pm, 'spec.selector.matchLabels')).toEqual(dig(byKind(docs, 'Deployment')[0], 'spec.selector.matchLabels'));
    expect(dig(pm, 'spec.podMetricsEndpoints')).toEqual([{ port: 'diagnostics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    const ports = (wasmguardContainer(docs).ports as Obj[]).map((p) => p.name);
    expect(ports).toContain('diagnostics');
    const off = byKind(renderChart({ diagnostics: { enabled: false }, metrics: { podMonitor: { enabled: true } } }).docs, 'PodMonitor');
    expect(dig(off[0], 'spec.podMetricsEndpoints.0.port')).toBe('http');
  });
});

describe('library chart wasmguard-sidecar and the example gateway chart', () => {
  const library = readYaml(join(sidecarLibraryDir, 'Chart.yaml')) as Obj;
  const gateway = renderChart({}, { name: 'gw', namespace: 'edge' }, gatewayExampleDir);
  const spec = podSpec(gateway.docs);

  it('is a library chart (renders nothing itself), and the example depends on it by file://', () => {
    expect(library).toMatchObject({ apiVersion: 'v2', type: 'library', name: 'wasmguard-sidecar' });
    expect(library.appVersion).toBe((readYaml(join(chartDir, 'Chart.yaml')) as Obj).appVersion);
    const gwChart = readYaml(join(gatewayExampleDir, 'Chart.yaml')) as Obj;
    expect(gwChart.dependencies).toEqual([{ name: 'wasmguard-sidecar', version: library.version, repository: 'file://../../../wasmguard-sidecar' }]);
  });

  it('includes WasmGuard as a native sidecar in the gateway\'s own pod, named and labelled as the gateway', () => {
    const [dep] = byKind(gateway.docs, 'Deployment');
    expect(dig(dep, 'metadata.name')).toBe('gw-gateway');
    expect(dig(dep, 'spec.template.metadata.labels')).toEqual({ 'app.kubernetes.io/name': 'example-gateway', 'app.kubernetes.io/instance': 'gw' });
    const init = spec.initContainers as Container[];
    expect(init.map((c) => c.name)).toEqual(['wasmguard']);
    const wg = init[0]!;
    expect(wg.restartPolicy).toBe('Always');
    expect(envOf(wg)).toMatchObject({ WASMGUARD_HOST: '127.0.0.1', WASMGUARD_PORT: '8080', WASMGUARD_DIAGNOSTICS_HOST: '0.0.0.0', WASMGUARD_DIAGNOSTICS_PORT: '9090', WASMGUARD_POOL_SIZE: '2' });
    // Only the diagnostics port leaves the pod; the probes are plain httpGet on it, no process per probe.
    expect(wg.ports).toEqual([{ name: 'wasmguard-diag', containerPort: 9090, protocol: 'TCP' }]);
    for (const [probe, path] of [['startupProbe', '/healthz'], ['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
      expect(dig(wg, `${probe}.httpGet`)).toEqual({ path, port: 'wasmguard-diag' });
      expect(dig(wg, `${probe}.exec`)).toBeUndefined();
    }
    const gw = (spec.containers as Container[])[0]!;
    expect(gw.name).toBe('gateway');
    expect(envOf(gw)).toEqual({ WASMGUARD_URL: 'http://127.0.0.1:8080' });
    // The pod-level security context is the gateway chart's; the sidecar sets its own container-level one.
    expect(wg.securityContext).toEqual(wasmguardContainer(renderChart().docs).securityContext);
  });

  it('the sidecar\'s config volume is the ConfigMap the gateway chart renders, and its grace adds to the gateway\'s', () => {
    const cm = byKind(gateway.docs, 'ConfigMap')[0]!;
    const vol = (spec.volumes as Obj[]).find((v) => v.name === 'wasmguard-config')!;
    expect(dig(vol, 'configMap.name')).toBe(dig(cm, 'metadata.name'));
    const wg = (spec.initContainers as Container[])[0]!;
    const mount = (wg.volumeMounts as Obj[]).find((m) => m.name === 'wasmguard-config')!;
    expect(envOf(wg).WASMGUARD_CONFIG).toBe(`${String(mount.mountPath)}/config.yaml`);
    const validate = new Ajv({ allErrors: true, strict: false }).compile(ConfigFileSchema);
    expect(validate(readYamlText(String((cm.data as Obj)['config.yaml'])))).toBe(true);
    expect(spec.terminationGracePeriodSeconds).toBe(15 + 5 + 10 + 5);
  });

  it('the library and the chart\'s Deployment container agree on what they share', () => {
    const wg = (spec.initContainers as Container[])[0]!;
    const main = wasmguardContainer(renderChart().docs);
    for (const k of ['lifecycle', 'securityContext']) expect(wg[k], k).toEqual(main[k]);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(omitKey(wg[probe] as Obj, 'httpGet'), probe).toEqual(omitKey(omitKey(main[probe] as Obj, 'httpGet'), 'successThreshold'));
    }
    for (const name of ['WASMGUARD_CONFIG', 'WASMGUARD_GRACE_MS', 'WASMGUARD_DIAGNOSTICS_HOST', 'WASMGUARD_DIAGNOSTICS_PORT', 'WASMGUARD_PORT']) {
      expect(envOf(wg)[name], name).toBe(envOf(main)[name]);
    }
  });

  it('image and configMap are required, with messages that say so', () => {
    expect(() => renderChart({ wasmguard: { image: '' } }, { name: 'gw', namespace: 'x' }, gatewayExampleDir)).toThrow(/image is required/);
  });

  it('examples/sidecar-pod.yaml (the snippet without Helm) is what the library renders', () => {
    const manifest = parseAllDocuments(readFileSync(join(chartDir, 'examples', 'sidecar-pod.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    const pod = manifest.find((d) => d.kind === 'Pod')!;
    const cm = manifest.find((d) => d.kind === 'ConfigMap')!;
    const podSpecOf = pod.spec as Obj;
    const snippet = (podSpecOf.initContainers as Container[])[0]!;
    const rendered = (spec.initContainers as Container[])[0]!;
    expect(snippet).toEqual(rendered);
    const vols = (podSpecOf.volumes as Obj[]).map((v) => (v.name === 'wasmguard-config' ? { ...v, configMap: { name: 'x' } } : v));
    expect(vols).toEqual((spec.volumes as Obj[]).map((v) => (v.name === 'wasmguard-config' ? { ...v, configMap: { name: 'x' } } : v)));
    expect(dig((podSpecOf.volumes as Obj[]).find((v) => v.name === 'wasmguard-config'), 'configMap.name')).toBe(dig(cm, 'metadata.name'));
    expect(podSpecOf.terminationGracePeriodSeconds).toBe(spec.terminationGracePeriodSeconds);
    expect(envOf((podSpecOf.containers as Container[])[0]!).WASMGUARD_URL).toBe('http://127.0.0.1:8080');
  });

  it('PodMonitor of the example scrapes the sidecar\'s diagnostics port', () => {
    const docs = renderChart({ podMonitor: { enabled: true } }, { name: 'gw', namespace: 'x' }, gatewayExampleDir).docs;
    expect(dig(byKind(docs, 'PodMonitor')[0], 'spec.podMetricsEndpoints')).toEqual([{ port: 'wasmguard-diag', path: '/metrics' }]);
  });
});

describe('helm test hook', () => {
  const docs = renderChart().docs;
  const pod = byKind(docs, 'Pod')[0]!;
  const container = (dig(pod, 'spec.containers') as Container[])[0]!;

  it('is a test hook pod outside every selector of the release, running the WasmGuard image', () => {
    expect(dig(pod, 'metadata.annotations')).toEqual({
      'helm.sh/hook': 'test',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(dig(pod, 'spec.restartPolicy')).toBe('Never');
    const selector = dig(byKind(docs, 'Deployment')[0], 'spec.selector.matchLabels') as Obj;
    const labels = dig(pod, 'metadata.labels') as Obj;
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
    expect(container.image).toBe(wasmguardContainer(docs).image);
    expect(container.securityContext).toEqual(wasmguardContainer(docs).securityContext);
    expect(envOf(container).WASMGUARD_URL).toBe('http://pdp-wasmguard:8080');
    expect((container.command as string[]).slice(0, 2)).toEqual([imageNode(), '-e']);
    expect(renderChart({ tests: { enabled: false } }).docs.some(isHook)).toBe(false);
  });

  /** Runs the hook's command (node -e <script>) against a URL, as the pod would. */
  const runHook = async (url: string, env: Record<string, string> = {}) => {
    const [, ...args] = container.command as string[];
    try {
      const { stdout } = await execFileP(process.execPath, args, { env: { ...process.env, ...envOf(container), WASMGUARD_URL: url, ...env }, timeout: 30_000 });
      return { code: 0, out: stdout };
    } catch (e) {
      const err = e as { code?: number; stderr?: string };
      return { code: err.code ?? -1, out: err.stderr ?? '' };
    }
  };

  it('passes against the real server (node dist/server.js, the sample guards), and fails with a reason otherwise', async () => {
    const server = await startServerProcess({}, 60_000);
    try {
      // On a loaded machine the fresh process may report event-loop pressure for a moment; the hook
      // would rightly fail then. Wait (bounded) until it is ready, as a real rollout would.
      for (let i = 0; i < 100 && (await fetch(`${server.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const ok = await runHook(server.url);
      expect(ok).toMatchObject({ code: 0 });
      expect(ok.out).toMatch(/^ok: \/readyz is 200; guard github decided (allow|deny) on helm_test/);
      const unknown = await runHook(server.url, { WASMGUARD_TEST_GUARD: 'nope' });
      expect(unknown.code).toBe(1);
      expect(unknown.out).toContain('guard nope, tool helm_test) answered 404');
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    const gone = await runHook(server.url);
    expect(gone.code).toBe(1);
    expect(gone.out).toMatch(/^helm test failed: /);
  }, 120_000);
});

describe('chart README', () => {
  const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
  it('documents install, every top-level value, the sidecar recipe, and how the chart is validated', () => {
    expect(readme).toMatch(/helm install/);
    for (const key of Object.keys(defaultValues())) expect(readme, key).toContain(`\`${key}`);
    expect(readme).toContain('examples/sidecar-pod.yaml');
    expect(readme).toContain('examples/gateway');
    expect(readme).toContain('wasmguard.sidecar');
    expect(readme).toContain('helm test');
    expect(readme).toMatch(/no `?helm`? binary/i);
    expect(readme).toContain('test/deploy');
  });
});

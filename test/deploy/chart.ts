/**
 * Loads helm/wasmguard and renders it with the small Go template renderer in
 * gotmpl.ts, the way `helm template` would: values.yaml coalesced with the
 * overrides (maps merge, null deletes a key), .Chart/.Release/.Capabilities
 * as structs, every file under templates/ parsed into one namespace, files
 * starting with "_" rendering nothing, and the output split into YAML docs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { GoStruct, Renderer } from './gotmpl.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chartDir = join(repoRoot, 'helm', 'wasmguard');
export const sidecarLibraryDir = join(repoRoot, 'helm', 'wasmguard-sidecar');
export const gatewayExampleDir = join(chartDir, 'examples', 'gateway');

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'));
}

export function defaultValues(): Obj {
  return readYaml(join(chartDir, 'values.yaml')) as Obj;
}

/** Helm's coalescing of user values over chart defaults. */
export function coalesce(base: Obj, over: Obj): Obj {
  const out: Obj = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) {
      delete out[k];
    } else if (isObj(v) && isObj(out[k])) {
      out[k] = coalesce(out[k] as Obj, v);
    } else {
      out[k] = structuredClone(v);
    }
  }
  return out;
}

/** Files under a chart's templates/, as Helm loads them (subfolders too), relative and sorted. */
export function templateFiles(dir = chartDir): string[] {
  const root = join(dir, 'templates');
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(join(root, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/**
 * The charts a chart depends on through `file://` repositories, as `helm
 * dependency build` would vendor them: library charts only contribute their
 * named templates (this renderer does not render subchart manifests).
 */
export function dependencyDirs(dir: string): string[] {
  const chart = readYaml(join(dir, 'Chart.yaml')) as Obj;
  const deps = (chart.dependencies as Array<{ name: string; repository?: string }> | undefined) ?? [];
  return deps.map((d) => {
    if (!d.repository?.startsWith('file://')) throw new Error(`${d.name}: only file:// dependencies are modelled`);
    const depDir = resolve(dir, d.repository.slice('file://'.length));
    const depChart = readYaml(join(depDir, 'Chart.yaml')) as Obj;
    if (depChart.name !== d.name) throw new Error(`${d.repository} holds chart ${String(depChart.name)}, not ${d.name}`);
    if (depChart.type !== 'library') throw new Error(`${d.name}: only library dependencies are modelled`);
    return depDir;
  });
}

export type Rendered = {
  /** Rendered text per template file (helpers render to ""). */
  files: Record<string, string>;
  /** Every non-empty YAML document of the .yaml templates. */
  docs: Obj[];
  notes: string;
};

export function renderChart(overrides: Obj = {}, release = { name: 'pdp', namespace: 'policy' }, dir = chartDir): Rendered {
  const chart = readYaml(join(dir, 'Chart.yaml')) as Obj;
  const values = coalesce(readYaml(join(dir, 'values.yaml')) as Obj, overrides);
  const r = new Renderer();
  for (const dep of dependencyDirs(dir)) {
    for (const f of templateFiles(dep)) r.addFile(`${String((readYaml(join(dep, 'Chart.yaml')) as Obj).name)}/${f}`, readFileSync(join(dep, 'templates', f), 'utf8'));
  }
  const files = templateFiles(dir);
  for (const f of files) r.addFile(f, readFileSync(join(dir, 'templates', f), 'utf8'));
  const ctx = new GoStruct('chartutil.Values', {
    Values: values,
    Chart: new GoStruct('chart.Metadata', {
      Name: chart.name,
      Version: chart.version,
      AppVersion: chart.appVersion,
      Description: chart.description,
      Type: chart.type,
    }),
    Release: new GoStruct('chartutil.ReleaseOptions', {
      Name: release.name,
      Namespace: release.namespace,
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    }),
  });
  const out: Record<string, string> = {};
  const docs: Obj[] = [];
  let notes = '';
  for (const f of files) {
    if (f.split('/').pop()!.startsWith('_')) {
      out[f] = '';
      continue;
    }
    // Helm passes the top-level object as a map-like value; fields of .Values
    // and friends are reached through the struct.
    const text = r.render(f, ctx);
    out[f] = text;
    if (f === 'NOTES.txt') {
      notes = text;
      continue;
    }
    for (const d of parseAllDocuments(text)) {
      if (d.errors.length) {
        throw new Error(`${f}: rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}\n${text}`);
      }
      const js = d.toJS() as unknown;
      if (js === null || js === undefined) continue;
      if (!isObj(js)) throw new Error(`${f}: a rendered document is not a mapping`);
      docs.push(js);
    }
  }
  return { files: out, docs, notes };
}

export function byKind(docs: Obj[], kind: string): Obj[] {
  return docs.filter((d) => d.kind === kind);
}

/** Walk a dotted path through plain objects. */
export function dig(v: unknown, path: string): unknown {
  let cur = v;
  for (const p of path.split('.')) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

/**
 * JSON Schemas of the Kubernetes API objects at the charts' minimum
 * Kubernetes version, and an Ajv validator over them: the stand-in for the
 * API server's schema check (`kubectl apply --validate=strict`), since no
 * cluster runs here.
 *
 * The schema set is installed by the repository (devDependencies, pinned):
 * kubernetes-types@<minor>.0 holds the API types generated from that
 * Kubernetes release's OpenAPI document, and ts-json-schema-generator turns
 * them into JSON Schema: required fields stay required, enums of literal
 * types stay enums, and unknown fields are errors (additionalProperties:
 * false), as with kubectl's strict validation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The Kubernetes minor of the installed schema set, e.g. "1.30". */
export function schemaKubernetesVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('kubernetes-types/package.json'), 'utf8')) as { version: string };
  return pkg.version.split('.').slice(0, 2).join('.');
}

export interface KubernetesValidator {
  /** apiVersion/kind pairs it knows, e.g. "apps/v1/Deployment". */
  kinds: string[];
  /** Problems of one object ("<path> <message>"), or undefined when the kind is not a built-in one. */
  validate(object: Record<string, unknown>): string[] | undefined;
}

let cached: KubernetesValidator | undefined;

export function kubernetesValidator(): KubernetesValidator {
  if (cached) return cached;
  const schema = createGenerator({
    path: join(here, 'k8s-kinds.ts'),
    tsconfig: join(here, '..', '..', 'tsconfig.json'),
    type: 'KubernetesKinds',
    skipTypeCheck: true,
    expose: 'all',
    topRef: true,
    jsDoc: 'none',
    additionalProperties: false,
  }).createSchema('KubernetesKinds');
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema, 'k8s');
  const root = schema.definitions!.KubernetesKinds as { properties: Record<string, { $ref: string }> };
  const validators = new Map<string, ValidateFunction>();
  for (const [kind, ref] of Object.entries(root.properties)) {
    validators.set(kind, ajv.compile({ $ref: `k8s${ref.$ref}` }));
  }
  cached = {
    kinds: [...validators.keys()],
    validate(object) {
      const v = validators.get(`${String(object.apiVersion)}/${String(object.kind)}`);
      if (!v) return undefined;
      if (v(object)) return [];
      return (v.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
        return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${extra}`;
      });
    },
  };
  return cached;
}

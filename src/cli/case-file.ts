import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { Type, type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { Decision, Labels, Mode, Operation, Tag } from '../http/schemas/common.js';

/**
 * The case files of `wasmguard test`: one TypeBox schema gives the
 * validation, the TypeScript types and the published JSON Schema
 * (schemas/wasmguard-cases.schema.json, written by `npm run schemas`).
 */

const Tags = Type.Array(Tag, { description: 'Compared as a set: order and duplicates do not matter' });

const PartialLabels = Type.Object(
  { secrecy: Type.Optional(Tags), integrity: Type.Optional(Tags), description: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

const ItemLabels = Type.Object(
  {
    path: Type.String({ description: 'RFC 6901 pointer into the result, e.g. /items/0' }),
    secrecy: Type.Optional(Tags),
    integrity: Type.Optional(Tags),
    description: Type.Optional(Type.String()),
    allowed: Type.Optional(Type.Boolean({ description: 'Whether the agent may read the item' })),
  },
  { additionalProperties: false },
);

const GuardPath = Type.String({ minLength: 1, description: 'Path of the guard .wasm, relative to the case file' });
const BackendReplies = Type.Record(Type.String(), Type.Unknown(), {
  description: "call_backend's replies by tool name (objects are sent as JSON, strings as they are); any other tool fails as an unreachable backend (-1)",
});

export const ExpectSchema = Type.Object(
  {
    error: Type.Optional(Type.String({ pattern: '^WG_ERR_[A-Z_]+$', description: 'The call fails with this error code (e.g. WG_ERR_POLICY_REJECTED)' })),
    decision: Type.Optional(Decision),
    operation: Type.Optional(Operation),
    resource: Type.Optional({ ...PartialLabels, description: 'The labels label_resource gave the call (only the fields given are compared)' }),
    check_response: Type.Optional(Type.Boolean({ description: 'Whether /v1/evaluate asked for the response check' })),
    labels: Type.Optional(Type.Array(ItemLabels, { description: "The result's item labels, in order (only the fields given are compared)" })),
    filtered: Type.Optional(Type.Array(Type.String(), { description: 'Paths of the items removed from the result, in order' })),
    agent: Type.Optional({ ...Labels, description: "The agent's labels after the call" }),
    result: Type.Optional(Type.Unknown({ description: 'The result the agent gets to see' })),
    reason: Type.Optional(Type.String({ description: 'A substring of the decision reason' })),
  },
  { additionalProperties: false, description: 'What the decision must be; only the fields given are compared' },
);

export const CaseSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    guard: Type.Optional(GuardPath),
    tool: Type.String({ minLength: 1 }),
    args: Type.Optional(Type.Unknown({ description: "The tool's arguments" })),
    policy: Type.Optional(Type.Unknown({ description: 'The policy of the call; null = none (the guard labels with its built-in defaults)' })),
    agent: Type.Optional({ ...Labels, description: "The agent's labels before the call; default: what label_agent gives for the policy" }),
    mode: Type.Optional(Mode),
    result: Type.Optional(Type.Unknown({ description: 'The tool result: given, the case also runs the response check (POST /v1/evaluate/response)' })),
    backend: Type.Optional(BackendReplies),
    expect: ExpectSchema,
  },
  { additionalProperties: false },
);

export const CaseFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    guard: Type.Optional({ ...GuardPath, description: 'The guard of every case that names none' }),
    policy: Type.Optional(Type.Unknown({ description: 'The policy of every case that gives none' })),
    mode: Type.Optional(Mode),
    backend: Type.Optional(BackendReplies),
    cases: Type.Array(CaseSchema, { minItems: 1 }),
  },
  {
    additionalProperties: false,
    title: 'wasmguard test case file',
    description:
      'Cases for `wasmguard test`: each runs a tool call through the decision pipeline of the HTTP API (POST /v1/evaluate, then, with a result, POST /v1/evaluate/response) and compares the decision with `expect`.',
  },
);

export type Case = Static<typeof CaseSchema>;
export type CaseFile = Static<typeof CaseFileSchema>;
export type Expect = Static<typeof ExpectSchema>;

/** A case ready to run: its guard resolved to an absolute path, the file's defaults applied. */
export interface LoadedCase extends Omit<Case, 'guard'> {
  guardPath: string;
}

export class CaseFileError extends Error {}

const validate = new Ajv({ allErrors: true, strict: false }).compile(CaseFileSchema);

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 8)
    .map((e) => {
      const at = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]') : '(top level)';
      if (e.keyword === 'additionalProperties') return `${at} has unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'required') return `${at} is missing "${(e.params as { missingProperty: string }).missingProperty}"`;
      if (e.keyword === 'enum') return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      return `${at} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

export async function loadCaseFile(path: string): Promise<LoadedCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CaseFileError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  const yaml = !/\.json$/i.test(path);
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new CaseFileError(`${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  if (!validate(data)) throw new CaseFileError(`${path}: ${describe(validate.errors)}`);
  const file = data as CaseFile;
  const dir = dirname(resolve(path));
  return file.cases.map((c, i) => {
    const guard = c.guard ?? file.guard;
    if (!guard) throw new CaseFileError(`${path}: cases[${i}] (${c.name}) names no guard, and the file has no default guard`);
    const { guard: _guard, ...rest } = c;
    return {
      ...rest,
      guardPath: resolve(dir, guard),
      ...(c.policy === undefined && file.policy !== undefined ? { policy: file.policy } : {}),
      ...(c.mode === undefined && file.mode !== undefined ? { mode: file.mode } : {}),
      ...(file.backend || c.backend ? { backend: { ...file.backend, ...c.backend } } : {}),
    };
  });
}

/** Where the published JSON Schema of case files is committed (`npm run schemas` rewrites it). */
export const CASE_SCHEMA_PATH = fileURLToPath(new URL('../../schemas/wasmguard-cases.schema.json', import.meta.url));

/** The JSON Schema document of case files, as committed. */
export function caseFileJsonSchema(): string {
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...CaseFileSchema }, null, 2)}\n`;
}

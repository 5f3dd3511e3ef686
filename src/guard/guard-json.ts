import { isMode, parseOperation } from '../difc/pipeline.js';
import { MODES, type LabelsJson, type Mode, type Operation, type ResourceLabelsJson, type ResponseLabelling } from '../difc/types.js';
import { GuardOutputError, GuardPolicyRejectedError, type GuardFunction } from './errors.js';

/**
 * The JSON side of the ABI: building each function's input and turning its
 * output into typed results, naming the function and the field when the
 * output is wrong. Pure, so it runs wherever the bytes are (main thread or
 * worker).
 */

export interface AgentLabelling {
  agent: LabelsJson;
  mode?: Mode;
  normalizedPolicy?: unknown;
}

export interface ResourceLabelling {
  resource: ResourceLabelsJson;
  operation: Operation;
}

export type GuardInput =
  | { fn: 'label_agent'; policy: unknown }
  | { fn: 'label_resource'; tool: string; args: unknown }
  | { fn: 'label_response'; tool: string; args: unknown; result: unknown };

/**
 * The `capabilities` member the compatible gateway adds to label_resource and
 * label_response inputs. Its value there is a Go struct whose only fields are
 * unexported, so it always serialises as `{}`; guards may test for the member
 * but cannot read tags from it. Sent the same way so a guard that requires it
 * sees what it sees under the gateway.
 */
const GATEWAY_CAPABILITIES = {};
const CAPABILITIES_JSON = JSON.stringify(GATEWAY_CAPABILITIES);

export function inputJson(input: GuardInput): string {
  switch (input.fn) {
    case 'label_agent':
      return JSON.stringify(input.policy ?? null);
    case 'label_resource':
      return JSON.stringify({ tool_name: input.tool, tool_args: input.args ?? {}, capabilities: GATEWAY_CAPABILITIES });
    case 'label_response':
      return responseInputJson(input.tool, input.args, JSON.stringify(input.result ?? null));
  }
}

/** label_response's input around a tool result already serialised. */
export function responseInputJson(tool: string, args: unknown, resultJson: string): string {
  return responseInputParts(tool, args, [resultJson]).join('');
}

/**
 * The same input in parts, around the parts of a serialised tool result (the response job writes the
 * document's text into it once, and writes the parts into the guard's buffer one by one: difc/envelope-json.ts).
 */
export function responseInputParts(tool: string, args: unknown, resultParts: readonly string[]): string[] {
  return [`{"tool_name":${JSON.stringify(tool)},"tool_result":`, ...resultParts, `,"tool_args":${JSON.stringify(args ?? {})},"capabilities":${CAPABILITIES_JSON}}`];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Raw guard output: bytes from an in-thread call, or text already decoded from a worker's shared buffer. */
export type GuardOutput = Uint8Array | string;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Caps on the labels a guard returns (and so on those a policy carries into
 * label_agent's output): the same per-list bounds as a request's agent
 * labels, and a total for one label (secrecy and integrity together), so a
 * policy or a guard cannot make answers and decision logs of megabytes. Not
 * a total per output: a response may label tens of thousands of items.
 */
export const LABEL_CAPS = Object.freeze({ tagsPerLabel: 4096, bytesPerTag: 1024, totalTagBytes: 64 * 1024 });

class OutputReader {
  #tagBytes = 0;

  constructor(
    readonly fn: GuardFunction,
    readonly guard: string,
  ) {}

  fail(message: string): never {
    throw new GuardOutputError(`guard ${this.guard} ${this.fn} output: ${message}`, { guard: this.guard, fn: this.fn });
  }

  parse(bytes: GuardOutput): unknown {
    let text: string;
    try {
      text = typeof bytes === 'string' ? bytes : decoder.decode(bytes);
    } catch {
      this.fail('not valid UTF-8');
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      this.fail(`not valid JSON (${(error as Error).message}); starts with ${JSON.stringify(text.slice(0, 40))}`);
    }
  }

  tags(value: unknown, path: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(`${path} is ${describe(value)}, expected an array of strings`);
    if (value.length > LABEL_CAPS.tagsPerLabel) this.fail(`${path} has ${value.length} tags, over the limit of ${LABEL_CAPS.tagsPerLabel}`);
    value.forEach((tag, i) => {
      if (typeof tag !== 'string') this.fail(`${path}[${i}] is ${describe(tag)}, expected a string`);
      const bytes = Buffer.byteLength(tag);
      if (bytes > LABEL_CAPS.bytesPerTag) this.fail(`${path}[${i}] is ${bytes} bytes, over the limit of ${LABEL_CAPS.bytesPerTag} bytes per tag`);
      this.#tagBytes += bytes;
    });
    if (this.#tagBytes > LABEL_CAPS.totalTagBytes) {
      this.fail(`${path.slice(0, path.lastIndexOf('.'))} has tags adding up to more than ${LABEL_CAPS.totalTagBytes} bytes`);
    }
    return value as string[];
  }

  labels(value: unknown, path: string): ResourceLabelsJson {
    if (!isObject(value)) this.fail(`${path} is ${describe(value)}, expected an object with secrecy and integrity`);
    this.#tagBytes = 0;
    const labels: ResourceLabelsJson = {
      secrecy: this.tags(value.secrecy, `${path}.secrecy`),
      integrity: this.tags(value.integrity, `${path}.integrity`),
    };
    if (value.description !== undefined) {
      if (typeof value.description !== 'string') this.fail(`${path}.description is ${describe(value.description)}, expected a string`);
      labels.description = value.description;
    }
    return labels;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function parseAgentOutput(bytes: GuardOutput, guard: string): AgentLabelling {
  const r: OutputReader = new OutputReader('label_agent', guard);
  const out = r.parse(bytes);
  if (!isObject(out)) r.fail(`is ${describe(out)}, expected an object`);
  const rejected = out.success === false || out.ok === false || (typeof out.error === 'string' && out.error !== '');
  if (rejected) {
    const reason = typeof out.error === 'string' && out.error ? out.error : typeof out.message === 'string' ? out.message : 'no reason given';
    throw new GuardPolicyRejectedError(`guard ${guard} rejected the policy: ${reason}`, { guard, fn: 'label_agent' });
  }
  if (out.agent === undefined) r.fail('lacks agent (the agent labels for the policy)');
  const labels = r.labels(out.agent, 'agent');
  const result: AgentLabelling = { agent: { secrecy: labels.secrecy, integrity: labels.integrity } };
  if (out.difc_mode !== undefined && out.difc_mode !== null && out.difc_mode !== '') {
    if (!isMode(out.difc_mode)) r.fail(`difc_mode is ${JSON.stringify(out.difc_mode)}, expected one of ${MODES.join(', ')}`);
    result.mode = out.difc_mode;
  }
  if (out.normalized_policy !== undefined) result.normalizedPolicy = out.normalized_policy;
  return result;
}

export function parseResourceOutput(bytes: GuardOutput, guard: string): ResourceLabelling {
  const r: OutputReader = new OutputReader('label_resource', guard);
  const out = r.parse(bytes);
  if (!isObject(out)) r.fail(`is ${describe(out)}, expected an object`);
  if (out.resource === undefined) r.fail('lacks resource (the resource labels)');
  return { resource: r.labels(out.resource, 'resource'), operation: parseOperation(out.operation) };
}

export function parseResponseOutput(bytes: GuardOutput, guard: string): ResponseLabelling {
  if (bytes.length === 0) return { kind: 'none' };
  const r: OutputReader = new OutputReader('label_response', guard);
  const out = r.parse(bytes);
  if (out === null) return { kind: 'none' };
  if (!isObject(out)) r.fail(`is ${describe(out)}, expected an object`);
  if (out.labeled_paths !== undefined) {
    if (!Array.isArray(out.labeled_paths)) r.fail(`labeled_paths is ${describe(out.labeled_paths)}, expected an array`);
    const labeledPaths = out.labeled_paths.map((entry, i) => {
      if (!isObject(entry)) r.fail(`labeled_paths[${i}] is ${describe(entry)}, expected an object`);
      if (typeof entry.path !== 'string') r.fail(`labeled_paths[${i}].path is ${describe(entry.path)}, expected a JSON Pointer string`);
      return { path: entry.path, labels: r.labels(entry.labels, `labeled_paths[${i}].labels`) };
    });
    const result: ResponseLabelling = { kind: 'paths', labeledPaths };
    if (out.default_labels !== undefined && out.default_labels !== null) result.defaultLabels = r.labels(out.default_labels, 'default_labels');
    if (out.items_path !== undefined && out.items_path !== null) {
      if (typeof out.items_path !== 'string') r.fail(`items_path is ${describe(out.items_path)}, expected a JSON Pointer string`);
      result.itemsPath = out.items_path;
    }
    return result;
  }
  if (out.items !== undefined) {
    if (!Array.isArray(out.items)) r.fail(`items is ${describe(out.items)}, expected an array`);
    const items = out.items.map((entry, i) => {
      if (!isObject(entry)) r.fail(`items[${i}] is ${describe(entry)}, expected an object with data and labels`);
      return { data: entry.data, labels: r.labels(entry.labels, `items[${i}].labels`) };
    });
    return { kind: 'items', items };
  }
  if (Object.keys(out).length === 0) return { kind: 'none' };
  return r.fail(`has neither labeled_paths nor items (keys: ${Object.keys(out).slice(0, 5).join(', ')})`);
}

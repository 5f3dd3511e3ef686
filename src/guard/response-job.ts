import { labelResponse, prepareResult } from '../difc/index.js';
import { stringifyWithText } from '../difc/envelope-json.js';
import type { PreparedResult } from '../difc/mcp.js';
import { ResponseLabelError } from '../difc/errors.js';
import type { LabelsJson, Mode, Operation, ResourceLabelsJson } from '../difc/types.js';
import type { PooledReply } from './reply-buffers.js';
import { guardErrorFromData, GuardError, type GuardErrorData } from './errors.js';
import { parseResponseOutput, responseInputParts } from './guard-json.js';

/**
 * The response check as one job for the guard's worker thread (issue 20):
 * the tool result is parsed there, labelled by the guard there, judged and
 * serialised there, so the event loop only reads the request and writes the
 * reply, and the pool's workers share the CPU work of checking results.
 *
 * Input: the job's JSON, a newline, then the request body's JSON bytes, whose
 * `result` member is the tool result (JSON.stringify never writes a raw
 * newline, so the first one ends the job). The worker decodes and parses the
 * bytes the event loop decoded and parsed, so both read the same value;
 * nothing else of that body is used here.
 *
 * Output: the header's JSON, a newline, then the members `result`,
 * `filtered` and `labels` of the reply, serialised (a JSON object's body).
 * A check that fails on the host's side (labels that do not fit the result,
 * guard output that is not valid) is a header with `error`: the call
 * succeeded and the instance is sound, as when that check ran on the main
 * thread. A reply too large for the channel comes back as TOO_LARGE, and
 * the check runs again on the main thread.
 */

/** The output of a job whose reply does not fit in the channel. */
export const TOO_LARGE = '{"tooLarge":true}\n';

export interface ResponseJob {
  guard: string;
  tool: string;
  args?: unknown;
  resource: ResourceLabelsJson;
  agent: LabelsJson;
  operation: Operation;
  mode: Mode;
}

export interface ResponseJobHeader {
  decision: 'allow' | 'deny';
  agent: LabelsJson;
  /** Parts withheld (the length of `filtered`). */
  filtered: number;
  reason?: string;
  notice?: string;
}

/** What came back: the header, and the `result`, `filtered` and `labels` members as JSON bytes. */
export interface ResponseJobOutput {
  header: ResponseJobHeader;
  members: PooledReply;
}

type JobError = { kind: 'response-labels'; message: string; path: string; field: string; problem: ResponseLabelError['problem'] } | { kind: 'guard'; data: GuardErrorData };

/** The job's input, in the two parts the channel writes back to back: the body's bytes are copied once, into the channel. */
export type ResponseJobInput = readonly [job: string, body: Buffer];

export function encodeResponseJob(job: ResponseJob, body: Buffer): ResponseJobInput {
  return [`${JSON.stringify(job)}\n`, body];
}

/** The tool result of a job, parsed again (for a check that has to run on the main thread after all). */
export function resultOfJob([, body]: ResponseJobInput): unknown {
  return resultOf(body.toString('utf8'));
}

const resultOf = (bodyJson: string): unknown => (JSON.parse(bodyJson) as { result: unknown }).result;

/**
 * Runs the job (in the worker); `callGuard` is the instance's label_response on its input JSON, given
 * in parts (the worker encodes them one after the other). The output comes in parts too.
 */
export function runResponseJob(input: string, callGuard: (inputJson: readonly string[]) => Uint8Array): string[] {
  const split = input.indexOf('\n');
  const job = JSON.parse(input.slice(0, split)) as ResponseJob;
  const result = resultOf(input.slice(split + 1));
  const prepared = prepareResult(result);
  const toJson = resultSerialiser(prepared);
  // Outside the try: a trap (or any failure of the call itself) is the worker's to report, and retires the instance.
  const output = callGuard(responseInputParts(job.tool, job.args, toJson(prepared.forGuard)));
  try {
    const labelling = parseResponseOutput(output, job.guard);
    const check = labelResponse({ result, prepared, labelling, resource: job.resource, agent: job.agent, operation: job.operation, mode: job.mode });
    const header: ResponseJobHeader = { decision: check.decision, agent: check.agent, filtered: check.filtered.length };
    if (check.reason !== undefined) header.reason = check.reason;
    if (check.notice !== undefined) header.notice = check.notice;
    return [`${JSON.stringify(header)}\n"result":`, ...toJson(check.result), `,"filtered":${JSON.stringify(check.filtered)},"labels":${JSON.stringify(check.labels)}`];
  } catch (error) {
    const failed = jobError(error);
    if (!failed) throw error;
    return [`${JSON.stringify({ error: failed })}\n`];
  }
}

/** JSON.stringify, in parts, for the result the guard labels and the one the reply carries, escaping the document's text once for both. */
function resultSerialiser(prepared: PreparedResult): (value: unknown) => string[] {
  const document = prepared.document;
  if (!document) return (value) => [JSON.stringify(value) ?? 'null'];
  const quoted = JSON.stringify(document.text);
  return (value) => stringifyWithText(value, document.text, quoted);
}

/**
 * Reads the job's output (on the main thread), taking its bytes: the members stay where they are; a
 * check that failed throws its error as the main thread's check would, and one whose reply did not
 * fit in the channel is undefined (both release the bytes).
 */
export function decodeResponseJob(output: PooledReply): ResponseJobOutput | undefined {
  const split = output.indexOf(NEWLINE);
  const header = JSON.parse(output.text(0, split)) as ResponseJobHeader & { error?: JobError; tooLarge?: true };
  if (header.tooLarge || header.error) {
    output.release();
    if (header.error) throw errorOf(header.error);
    return undefined;
  }
  output.drop(split + 1);
  return { header, members: output };
}

const NEWLINE = 0x0a;

/** Errors of the check itself (the guard's output does not fit the result, or is not what the ABI says), carried back as its output. */
function jobError(error: unknown): JobError | undefined {
  if (error instanceof ResponseLabelError) {
    return { kind: 'response-labels', message: error.message, path: error.path, field: error.field, problem: error.problem };
  }
  if (error instanceof GuardError) return { kind: 'guard', data: error.toData() };
  return undefined;
}

function errorOf(error: JobError): Error {
  if (error.kind === 'response-labels') return new ResponseLabelError(error.message, error.path, error.field, error.problem);
  return guardErrorFromData(error.data);
}

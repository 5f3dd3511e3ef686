import { labelResponse, prepareResult } from '../difc/index.js';
import { stringifyWithText } from '../difc/envelope-json.js';
import { firstTextBlock, isMcpEnvelope, withBlockText, type PreparedResult } from '../difc/mcp.js';
import { ResponseLabelError } from '../difc/errors.js';
import { isWellFormed } from '../difc/strict-json.js';
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
 * Input: the job's JSON, a newline (JSON.stringify never writes a raw one,
 * so the first ends the job), then the tool result in one of two forms.
 * Mostly the result is MCP text, whose text is most of the body's bytes: the
 * event loop, which has parsed the body, writes that text as it is (UTF-8,
 * unescaped) and then the result's JSON with that text left empty, and the
 * worker puts the text back, so it never unescapes the text a second time
 * (issue 20: that second parse of the body was ~57 µs of a 100-item check).
 * Any other result travels as the request body's own JSON bytes, whose
 * `result` member the worker parses. Either way the worker reads the value
 * the event loop parsed.
 *
 * Output: the header's JSON, a newline, then the members `result`,
 * `filtered` and `labels` of the reply, serialised (a JSON object's body).
 * A check that fails on the host's side (labels that do not fit the result,
 * guard output that is not valid) is a header with `error`: the call
 * succeeded and the instance is sound, as when that check ran on the main
 * thread. A reply too large for the channel comes back as TOO_LARGE and
 * the guard's output: the main thread checks the result on those labels,
 * without calling the guard again.
 */

/** The head of the output of a job whose reply does not fit in the channel; the guard's output follows it. */
export const TOO_LARGE = '{"tooLarge":true}\n';

const NEWLINE = 0x0a;

export interface ResponseJob {
  guard: string;
  tool: string;
  args?: unknown;
  resource: ResourceLabelsJson;
  agent: LabelsJson;
  operation: Operation;
  mode: Mode;
  /** Set when the input holds the result's document text apart: its content block and its length in bytes. */
  text?: TextApart;
}

interface TextApart {
  block: number;
  bytes: number;
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

/** What came back from a job whose reply did not fit in the channel: the guard's label_response output, to check the result on. */
export interface ResponseJobTooLarge {
  guardOutput: string;
}

type JobError = { kind: 'response-labels'; message: string; path: string; field: string; problem: ResponseLabelError['problem'] } | { kind: 'guard'; data: GuardErrorData };

/** The job's input, in the two parts the channel writes back to back: the result's bytes are copied once, into the channel. */
export type ResponseJobInput = readonly [job: string, result: Buffer];

/**
 * The job's input for a result the event loop parsed from `body` (the request body's JSON bytes,
 * whose `result` member it is). The body's bytes are the event loop's own (json-body.ts): an MCP
 * text result is written over them, text first, which never takes more bytes than the body held
 * unless its text had bytes that were not UTF-8; a result that does not fit goes as the body.
 */
export function encodeResponseJob(job: ResponseJob, body: Buffer, result: unknown): ResponseJobInput {
  const apart = textApart(result);
  if (apart) {
    const textBytes = Buffer.byteLength(apart.text);
    if (textBytes + Buffer.byteLength(apart.rest) <= body.length) {
      body.write(apart.text, 0);
      const end = textBytes + body.write(apart.rest, textBytes);
      return [`${JSON.stringify({ ...job, text: { block: apart.block, bytes: textBytes } })}\n`, body.subarray(0, end)];
    }
  }
  return [`${JSON.stringify(job)}\n`, body];
}

/**
 * The document's text of an MCP text result, and the result's JSON without it. Only well-formed text:
 * a lone surrogate has no UTF-8 form, so the worker would read another text than the event loop.
 */
function textApart(result: unknown): { block: number; text: string; rest: string } | undefined {
  if (!isMcpEnvelope(result)) return undefined;
  const block = firstTextBlock(result.content);
  const text = block < 0 ? undefined : (result.content[block] as { text?: unknown }).text;
  if (typeof text !== 'string' || !isWellFormed(text)) return undefined;
  return { block, text, rest: JSON.stringify(withBlockText(result, block, '')) };
}

/** The tool result of a job, parsed again (for a check that has to run on the main thread after all). */
export function resultOfJob([job, bytes]: ResponseJobInput): unknown {
  return resultOf(JSON.parse(job) as ResponseJob, bytes);
}

/** The tool result from the bytes after the job's line, in either form (encodeResponseJob). */
function resultOf(job: ResponseJob, bytes: Buffer): unknown {
  if (!job.text) return (JSON.parse(bytes.toString('utf8')) as { result: unknown }).result;
  const { block, bytes: textBytes } = job.text;
  const result = JSON.parse(bytes.toString('utf8', textBytes)) as { content: Array<{ text: string }> };
  result.content[block]!.text = bytes.toString('utf8', 0, textBytes);
  return result;
}

/**
 * Runs the job (in the worker); `callGuard` is the instance's label_response on its input JSON, given
 * in parts (the worker encodes them one after the other). The output comes in parts too.
 */
export function runResponseJob(input: Buffer, callGuard: (inputJson: readonly string[]) => Uint8Array): string[] {
  const split = input.indexOf(NEWLINE);
  const job = JSON.parse(input.toString('utf8', 0, split)) as ResponseJob;
  const result = resultOf(job, input.subarray(split + 1));
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
 * fit in the channel gives the guard's output (both release the bytes; the worker parsed that output
 * already, so it is valid UTF-8).
 */
export function decodeResponseJob(output: PooledReply): ResponseJobOutput | ResponseJobTooLarge {
  const split = output.indexOf(NEWLINE);
  const header = JSON.parse(output.text(0, split)) as ResponseJobHeader & { error?: JobError; tooLarge?: true };
  if (header.error) {
    output.release();
    throw errorOf(header.error);
  }
  if (header.tooLarge) {
    const guardOutput = output.text(split + 1);
    output.release();
    return { guardOutput };
  }
  output.drop(split + 1);
  return { header, members: output };
}

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

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { GuardLoadError, GuardPolicyRejectedError } from '../guard/index.js';
import { findAbiProblems } from '../guard/validate.js';
import { capMemory, parseModule, WASM_PAGE_BYTES, WasmFormatError } from '../guard/wasm-binary.js';
import { GUARD_WIDE_DEFAULTS } from '../config/settings.js';
import { cliLogger, openGuardRuntime } from './guard-runtime.js';
import { finding, findingForCallError, type Finding } from './findings.js';
import { parseCommandArgs, UsageError, type CommandIo } from './io.js';

export interface GuardReport {
  file: string;
  size_bytes?: number;
  sha256?: string;
  findings: Finding[];
  /** What the calls showed that is not wrong (e.g. the guard refused the empty policy). */
  notes: string[];
}

export interface CheckOptions {
  timeoutMs: number;
  memoryLimitMb: number;
  sha256?: string;
  /** Where the guards' own log lines go. */
  logger: Logger;
}

/** The neutral input of the runtime step: a tool no guard knows, empty arguments, an empty result. */
const PROBE_TOOL = 'wasmguard_check';
const NO_LABELS = { secrecy: [], integrity: [] };

/** What the loader would say about the module, every problem at once (no instance is made). */
function staticFindings(bytes: Uint8Array, options: CheckOptions): Finding[] {
  let info;
  try {
    info = parseModule(bytes);
  } catch (error) {
    if (error instanceof WasmFormatError) return [finding('WG_CHECK_NOT_WASM', error.message)];
    throw error;
  }
  const findings = findAbiProblems(info).map((p) => finding(p.code, p.message));
  const exported = new Set(info.exports.map((e) => e.name));
  if (exported.has('_start') && !findings.some((f) => f.code === 'WG_CHECK_COMMAND_MODULE')) {
    findings.push(finding('WG_CHECK_START_EXPORT', 'exports _start next to the label functions; the host never calls it', { severity: 'warning' }));
  }
  try {
    capMemory(bytes, Math.floor((options.memoryLimitMb * 1024 * 1024) / WASM_PAGE_BYTES));
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    findings.push(finding('WG_CHECK_MEMORY_LIMIT', `${error.message} (memory limit ${options.memoryLimitMb} MiB)`));
  }
  return findings;
}

/**
 * Loads the guard as the service would (compilation cache, a pool of one
 * worker, the same limits) and calls each label function once through the
 * decision pipeline with a neutral input.
 */
async function runtimeFindings(path: string, name: string, options: CheckOptions, notes: string[]): Promise<Finding[]> {
  let runtime;
  try {
    runtime = await openGuardRuntime([{ name, path, poolSize: 1, timeoutMs: options.timeoutMs, memoryLimitMb: options.memoryLimitMb }], {
      logger: options.logger,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof GuardLoadError && /compilation failed/.test(message)) return [finding('WG_CHECK_COMPILE', message)];
    return [finding('WG_CHECK_INSTANTIATE', message)];
  }
  const findings: Finding[] = [];
  const { decisions } = runtime;
  try {
    // Without a policy first: an instance that never ran label_agent labels with the guard's built-in defaults.
    await decisions.evaluate({ guard: name, tool: PROBE_TOOL, args: {} }).catch((e: unknown) => findings.push(findingForCallError(e, 'label_resource')));
    await decisions
      .evaluateResponse({ guard: name, tool: PROBE_TOOL, args: {}, result: {}, mode: 'filter', operation: 'read', resource: NO_LABELS, agent: NO_LABELS })
      .catch((e: unknown) => findings.push(findingForCallError(e, 'label_response')));
    await decisions.labelAgent({ guard: name, policy: {} }).catch((e: unknown) => {
      // Refusing a policy is an answer, not a fault: most guards need fields the empty policy lacks.
      if (e instanceof GuardPolicyRejectedError) notes.push(`label_agent refused the empty policy {}: ${e.message}`);
      else findings.push(findingForCallError(e, 'label_agent'));
    });
  } finally {
    await runtime.close();
  }
  return findings;
}

export async function checkGuard(file: string, options: CheckOptions): Promise<GuardReport> {
  const path = resolve(file);
  const report: GuardReport = { file, findings: [], notes: [] };
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    report.findings.push(finding('WG_CHECK_UNREADABLE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`));
    return report;
  }
  report.size_bytes = bytes.length;
  report.sha256 = createHash('sha256').update(bytes).digest('hex');
  if (options.sha256 && options.sha256.toLowerCase() !== report.sha256) {
    report.findings.push(finding('WG_CHECK_DIGEST_MISMATCH', `SHA-256 is ${report.sha256}, expected ${options.sha256.toLowerCase()}`));
  }
  report.findings.push(...staticFindings(bytes, options));
  // Instances are made only of modules the loader would accept.
  if (report.findings.some((f) => f.severity === 'error')) return report;
  report.findings.push(...(await runtimeFindings(path, basename(path, extname(path)) || 'guard', options, report.notes)));
  return report;
}

function formatReport(report: GuardReport): string[] {
  const size = report.size_bytes === undefined ? '' : ` (${report.size_bytes} bytes, sha256 ${report.sha256})`;
  if (report.findings.length === 0) {
    return [`${report.file}: ok${size}: the module loads, and label_agent, label_resource and label_response answered`, ...report.notes.map((n) => `  note: ${n}`)];
  }
  return report.findings.map((f) => `${report.file}: ${f.severity} ${f.code}${f.function ? ` in ${f.function}` : ''}: ${f.message} — fix: ${f.hint}`);
}

export const CHECK_USAGE = `Usage: wasmguard check [options] GUARD.wasm...

Validates each guard as the service would load it (exports and their
signatures, imports against what the host offers, memory, start function,
size, digest), then calls label_resource, label_response and label_agent once
each with a neutral input, in a worker with the service's sandbox limits.
One line per finding, with a stable code and a fix hint.

Options:
  --json                   one JSON document on stdout
  --call-timeout-ms N      deadline of one guard call (default ${GUARD_WIDE_DEFAULTS.timeoutMs})
  --memory-limit-mb N      linear memory cap (default ${GUARD_WIDE_DEFAULTS.memoryLimitMb})
  --sha256 HEX             the digest the guard must have (one guard only)
  --log-level LEVEL        show the guards' own log lines on stderr (default silent)
  -h, --help               this text

Exit status: 0 no findings, 1 findings, 2 usage error.`;

export async function runCheck(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    'call-timeout-ms': { type: 'string' },
    'memory-limit-mb': { type: 'string' },
    sha256: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout(`${CHECK_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('check needs at least one GUARD.wasm');
  const integer = (flag: string, fallback: number, max: number) => {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`--${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  const sha256 = values.sha256 as string | undefined;
  if (sha256 !== undefined && (!/^[0-9a-fA-F]{64}$/.test(sha256) || positionals.length > 1)) {
    throw new UsageError('--sha256 takes 64 hex digits and exactly one GUARD.wasm');
  }
  const options: CheckOptions = {
    timeoutMs: integer('call-timeout-ms', GUARD_WIDE_DEFAULTS.timeoutMs, 600_000),
    memoryLimitMb: integer('memory-limit-mb', GUARD_WIDE_DEFAULTS.memoryLimitMb, 4096),
    logger: cliLogger((values['log-level'] as string | undefined) ?? 'silent'),
    ...(sha256 ? { sha256 } : {}),
  };
  const reports: GuardReport[] = [];
  for (const file of positionals) reports.push(await checkGuard(file, options));
  const count = reports.reduce((n, r) => n + r.findings.length, 0);
  if (values.json) {
    io.stdout(`${JSON.stringify({ findings: count, guards: reports }, null, 2)}\n`);
  } else {
    for (const report of reports) io.stdout(`${formatReport(report).join('\n')}\n`);
    if (reports.length > 1 || count > 0) io.stdout(`${reports.length} guard${reports.length === 1 ? '' : 's'} checked, ${count} finding${count === 1 ? '' : 's'}\n`);
  }
  return count > 0 ? 1 : 0;
}

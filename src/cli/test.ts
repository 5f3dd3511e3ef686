import { basename, extname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ResolvedGuard } from '../config/load.js';
import type { DecisionService } from '../decision/decision-service.js';
import { CaseFileError, loadCaseFile, type LoadedCase } from './case-file.js';
import { compare, type Actual } from './expectations.js';
import { GUARD_WIDE_DEFAULTS } from '../config/settings.js';
import { cliLogger, openGuardRuntime } from './guard-runtime.js';
import { parseCommandArgs, UsageError, type CommandIo } from './io.js';
import { specReporter, tapReporter, type Reporter } from './reporter.js';

export const TEST_USAGE = `Usage: wasmguard test [options] CASES...

Runs case files (YAML or JSON, schema: schemas/wasmguard-cases.schema.json)
through the service's decision pipeline, without HTTP: each case is the
POST /v1/evaluate of its tool call and, when it has a result, the
POST /v1/evaluate/response after it. Guards run in worker pools with the
service's default limits.

Options:
  --reporter tap|spec   TAP version 13, or a spec-like report (default: spec on a terminal, tap otherwise)
  --log-level LEVEL     show the guards' own log lines on stderr (default silent)
  -h, --help            this text

Exit status: 0 every case passed, 1 a case failed or a case file is invalid, 2 usage error.`;

const errorOf = (error: unknown) => ({
  code: typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'WG_ERR_INTERNAL',
  message: error instanceof Error ? error.message : String(error),
});

/** One case the way a gateway makes the calls: evaluate, then (allowed, with a result) evaluate/response. */
async function runCase(decisions: DecisionService, guard: string, c: LoadedCase): Promise<Actual> {
  const request = {
    guard,
    tool: c.tool,
    ...(c.args !== undefined ? { args: c.args } : {}),
    ...(c.agent ? { agent: c.agent } : {}),
    ...(c.mode ? { mode: c.mode } : {}),
    ...(c.policy !== undefined ? { policy: c.policy } : {}),
  };
  try {
    const ev = await decisions.evaluate(request);
    const actual: Actual = { decision: ev.decision, operation: ev.operation, resource: { ...ev.resource }, check_response: ev.check_response, agent: { ...ev.agent } };
    if (ev.reason) actual.reason = ev.reason;
    if (c.result === undefined) return actual;
    if (ev.decision === 'deny') return { ...actual, labels: [], filtered: [], result: null };
    const r = await decisions.evaluateResponse({ ...request, agent: ev.agent, result: c.result, operation: ev.operation, resource: ev.resource });
    return {
      ...actual,
      decision: r.decision,
      agent: { ...r.agent },
      labels: r.labels.map((l) => ({ ...l })),
      filtered: r.filtered.map((f) => f.path),
      result: r.result,
      // The response step's reason replaces the first step's (e.g. "needs a per-item response check").
      reason: r.reason,
    };
  } catch (error) {
    return { error: errorOf(error) };
  }
}

/** Guard names for the runtime: the file's base name, numbered when two files share one. */
function nameGuards(paths: string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const path of paths) {
    if (names.has(path)) continue;
    const base = basename(path, extname(path)).replace(/[^A-Za-z0-9._-]/g, '_') || 'guard';
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    names.set(path, name);
  }
  return names;
}

async function runFile(file: string, reporter: Reporter, logger: Logger): Promise<boolean> {
  const shown = relative(process.cwd(), file) || file;
  reporter.file(shown);
  const fail = (name: string, diff: string) => {
    reporter.case({ file: shown, name, ok: false, mismatches: [{ field: 'error', diff }], ms: 0 });
    return false;
  };
  let cases: LoadedCase[];
  try {
    cases = await loadCaseFile(file);
  } catch (error) {
    if (error instanceof CaseFileError) return fail('case file', error.message);
    throw error;
  }
  const names = nameGuards(cases.map((c) => c.guardPath));
  // call_backend answers from the running case's replies; cases run one at a time.
  let replies: Record<string, unknown> = {};
  const backend = async (tool: string) => {
    if (!Object.hasOwn(replies, tool)) return undefined;
    const reply = replies[tool];
    return typeof reply === 'string' ? reply : JSON.stringify(reply);
  };
  const guards: ResolvedGuard[] = [...names].map(([path, name]) => ({ name, path, poolSize: 1, ...GUARD_WIDE_DEFAULTS }));
  let runtime;
  try {
    runtime = await openGuardRuntime(guards, { logger, backendFor: () => backend });
  } catch (error) {
    return fail('load guards', errorOf(error).message);
  }
  let ok = true;
  try {
    for (const c of cases) {
      replies = c.backend ?? {};
      const started = performance.now();
      const actual = await runCase(runtime.decisions, names.get(c.guardPath)!, c);
      const mismatches = compare(c.expect, actual);
      ok &&= mismatches.length === 0;
      reporter.case({ file: shown, name: c.name, ok: mismatches.length === 0, mismatches, ms: performance.now() - started });
    }
  } finally {
    await runtime.close();
  }
  return ok;
}

export async function runTest(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    reporter: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout(`${TEST_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('test needs at least one case file');
  const kind = (values.reporter as string | undefined) ?? (io.isTTY ? 'spec' : 'tap');
  if (kind !== 'tap' && kind !== 'spec') throw new UsageError(`--reporter must be tap or spec, got ${JSON.stringify(kind)}`);
  const logger = cliLogger((values['log-level'] as string | undefined) ?? 'silent');
  const reporter = kind === 'tap' ? tapReporter(io) : specReporter(io);
  let ok = true;
  for (const file of positionals) ok = (await runFile(file, reporter, logger)) && ok;
  reporter.end();
  return ok ? 0 : 1;
}

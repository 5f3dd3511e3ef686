/**
 * `wasmguard check` as authors run it (the built command in its own process):
 * each hostile or broken guard gives its stable finding code with a fix hint,
 * the sample guards are clean, and what check reports statically is what the
 * service's loader refuses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompilationCache } from '../../src/guard/index.js';
import { runCli } from '../support/cli.js';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';
import { constOutput, guardModule } from '../support/guards.js';
import { wat } from '../support/wat.js';

const LABEL = '(param i32 i32 i32 i32) (result i32)';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmguard-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function guardFile(name: string, source: string): Promise<string> {
  const path = join(dir, `${name}.wasm`);
  writeFileSync(path, await wat(source));
  return path;
}

interface JsonReport {
  findings: number;
  guards: Array<{ file: string; sha256?: string; size_bytes?: number; findings: Array<{ code: string; severity: string; message: string; hint: string; function?: string }>; notes: string[] }>;
}

async function checkJson(args: string[]): Promise<{ code: number | null; report: JsonReport }> {
  const result = await runCli(['check', '--json', ...args]);
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport };
}

describe('wasmguard check on the sample guards', () => {
  it('finds nothing and exits 0; the github guard refusing the empty policy is a note, not a finding', async () => {
    const result = await runCli(['check', join(SAMPLE_GUARDS_DIR, 'static.wasm'), join(SAMPLE_GUARDS_DIR, 'github.wasm')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/static\.wasm: ok \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    expect(result.stdout).toContain('label_agent refused the empty policy');
    expect(result.stdout).toContain('2 guards checked, 0 findings');
  });
});

describe('wasmguard check on hostile and broken guards', () => {
  const LABELS = ['label_agent', 'label_resource', 'label_response'].map((fn) => `(func (export "${fn}") ${LABEL} (i32.const 0))`).join('\n');
  const cases: Array<[name: string, source: () => string, code: string, hint: RegExp, fn?: string]> = [
    ['command', () => '(module (memory (export "memory") 1) (func (export "_start")))', 'WG_CHECK_COMMAND_MODULE', /crate-type = \["cdylib"\].*-buildmode=c-shared/],
    ['abort-import', () => `(module (import "env" "abort" (func (param i32 i32 i32 i32))) (memory (export "memory") 1) ${LABELS})`, 'WG_CHECK_UNKNOWN_IMPORT', /--use abort=/],
    ['i64-signature', () => `(module (memory (export "memory") 1) ${LABELS.replace('(func (export "label_agent") (param i32 i32 i32 i32) (result i32) (i32.const 0))', '(func (export "label_agent") (param i32 i32 i32 i64) (result i32) (i32.const 0))')})`, 'WG_CHECK_EXPORT_SIGNATURE', /\(in_ptr, in_len, out_ptr, out_cap: i32\) -> i32/],
    ['no-memory-export', () => `(module (memory 1) ${LABELS})`, 'WG_CHECK_MISSING_MEMORY', /export the linear memory as "memory"/],
    ['huge-memory', () => `(module (memory (export "memory") 1000) ${LABELS})`, 'WG_CHECK_MEMORY_LIMIT', /initial memory/],
    ['start-traps', () => `(module (memory (export "memory") 1) (func $boom unreachable) (start $boom) ${LABELS})`, 'WG_CHECK_INSTANTIATE', /start function/],
    ['resource-traps', () => guardModule({ resource: `(func (export "label_resource") ${LABEL} unreachable)` }), 'WG_CHECK_TRAP', /neutral input/, 'label_resource'],
    ['response-spins', () => guardModule({ response: `(func (export "label_response") ${LABEL} (loop $l (br $l)) (i32.const 0))` }), 'WG_CHECK_TIMEOUT', /deadline/, 'label_response'],
    ['resource-not-json', () => {
      const bad = constOutput('label_resource', 'this is not json', 12288);
      return guardModule({ resource: bad.func, extra: bad.data });
    }, 'WG_CHECK_OUTPUT', /docs\/contract\.md §2/, 'label_resource'],
    ['response-bad-path', () => {
      const bad = constOutput('label_response', '{"labeled_paths":[{"path":"/items/5","labels":{"secrecy":[],"integrity":[]}}]}', 12288);
      return guardModule({ response: bad.func, extra: bad.data });
    }, 'WG_CHECK_RESPONSE_LABELS', /only paths that exist/, 'label_response'],
    ['resource-error-code', () => guardModule({ resource: `(func (export "label_resource") ${LABEL} (i32.const -7))` }), 'WG_CHECK_ERROR_CODE', /rather than fail/, 'label_resource'],
  ];

  // Every hostile guard in one run of each output form: a run starts a worker per guard, and the machine is small.
  let text = { code: null as number | null, stdout: '', stderr: '' };
  let json: { code: number | null; report: JsonReport } | undefined;
  let files: string[] = [];
  beforeAll(async () => {
    files = await Promise.all(cases.map(([name, source]) => guardFile(name, source())));
    text = await runCli(['check', '--call-timeout-ms', '300', ...files]);
    json = await checkJson(['--call-timeout-ms', '300', ...files]);
  }, 120_000);

  it.each(cases.map(([name, , code, hint, fn], i) => [i, name, code, hint, fn] as const))('#%i %s gives %s', (i, _name, code, hint, fn) => {
    const file = files[i]!;
    expect(text.code, text.stdout + text.stderr).toBe(1);
    // One line per finding: file, severity, code, the function when a call produced it, message, fix hint.
    const lines = text.stdout.split('\n').filter((l) => l.startsWith(`${file}: `));
    expect(lines.length, text.stdout).toBeGreaterThan(0);
    const line = lines.find((l) => l.includes(code));
    expect(line, lines.join('\n')).toBeDefined();
    expect(line).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}: error ${code}${fn ? ` in ${fn}` : ''}: .+ — fix: `));
    expect(line).toMatch(hint);

    expect(json!.code).toBe(1);
    const report = json!.report.guards[i]!;
    expect(report.file).toBe(file);
    expect(report.findings.find((f) => f.code === code)).toMatchObject({ severity: 'error', hint: expect.stringMatching(hint), ...(fn ? { function: fn } : {}) });
  });

  it('a _start next to the label functions is a warning, and still exit 1', async () => {
    const file = await guardFile('start-too', guardModule({ extra: '(func (export "_start"))' }));
    const { code, report } = await checkJson([file]);
    expect(code).toBe(1);
    expect(report.guards[0]!.findings).toEqual([expect.objectContaining({ code: 'WG_CHECK_START_EXPORT', severity: 'warning' })]);
  });

  it('lists every ABI problem at once, and the first is what the service refuses the guard with', async () => {
    const source = `(module (import "env" "abort" (func (param i32 i32 i32 i32))) (memory 1)
      (func (export "label_agent") ${LABEL} (i32.const 0)) (func (export "alloc") (param i32) (result i32) (i32.const 0)))`;
    const file = await guardFile('many', source);
    const { report } = await checkJson([file]);
    const findings = report.guards[0]!.findings;
    expect(findings.map((f) => f.code)).toEqual(['WG_CHECK_MISSING_EXPORT', 'WG_CHECK_MISSING_MEMORY', 'WG_CHECK_ALLOC_PAIR', 'WG_CHECK_UNKNOWN_IMPORT']);
    const refused = await new CompilationCache().load(await wat(source), { name: 'many' }).catch((e: Error) => e);
    expect((refused as Error).message).toBe(`guard many: ${findings[0]!.message}`);
  });

  it('reports bytes that are not WebAssembly, an unreadable path and a digest that differs', async () => {
    const junk = join(dir, 'junk.wasm');
    writeFileSync(junk, 'not wasm');
    const { code, report } = await checkJson([junk, join(dir, 'missing.wasm')]);
    expect(code).toBe(1);
    expect(report.findings).toBe(2);
    expect(report.guards.map((g) => g.findings[0]!.code)).toEqual(['WG_CHECK_NOT_WASM', 'WG_CHECK_UNREADABLE']);

    const ok = await guardFile('fine', guardModule({}));
    const wrong = await checkJson(['--sha256', 'a'.repeat(64), ok]);
    expect(wrong.code).toBe(1);
    expect(wrong.report.guards[0]!.findings.map((f) => f.code)).toEqual(['WG_CHECK_DIGEST_MISMATCH']);
    const right = await checkJson(['--sha256', wrong.report.guards[0]!.sha256!, ok]);
    expect(right).toMatchObject({ code: 0, report: { findings: 0 } });
  });

  it('a guard importing a WASI function that node:wasi answers loads and answers', async () => {
    const file = await guardFile(
      'wasi',
      guardModule({ imports: '(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))' }),
    );
    const result = await runCli(['check', file]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('wasi.wasm: ok');
  });

  it('exits 2 on a usage error, naming it', async () => {
    expect(await runCli(['check'])).toMatchObject({ code: 2, stderr: expect.stringContaining('check needs at least one GUARD.wasm') });
    expect(await runCli(['check', '--bogus', 'x.wasm'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
    expect(await runCli(['check', '--call-timeout-ms', 'soon', 'x.wasm'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--call-timeout-ms') });
    expect(await runCli(['check', '--log-level', 'loud', 'x.wasm'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--log-level must be one of') });
  });
});

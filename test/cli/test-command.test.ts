/**
 * `wasmguard test` as authors and `npm test` run it: the sample guards' case
 * files pass through the built command; a failing case fails with a diff and
 * exit 1; case files are validated against the published schema.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CASE_SCHEMA_PATH, caseFileJsonSchema } from '../../src/cli/case-file.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';

const SAMPLE_CASES = ['github', 'static'].map((name) => join(SAMPLE_GUARDS_DIR, name, `${name}.cases.yaml`));
const STATIC_GUARD = join(SAMPLE_GUARDS_DIR, 'static.wasm');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmguard-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const countCases = (file: string) => (parseYaml(readFileSync(file, 'utf8')) as { cases: unknown[] }).cases.length;

describe('the sample guards through wasmguard test', () => {
  it('every case of their case files passes (TAP off a terminal), exit 0', async () => {
    const result = await runCli(['test', ...SAMPLE_CASES]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const total = SAMPLE_CASES.reduce((n, f) => n + countCases(f), 0);
    expect(result.stdout.startsWith('TAP version 13\n')).toBe(true);
    expect(result.stdout).toContain(`1..${total}\n# tests ${total}\n# pass ${total}\n# fail 0\n`);
    expect(result.stdout.match(/^ok \d+ - /gm)).toHaveLength(total);
  });
});

describe("the README's case file example", () => {
  it('passes against the static sample guard', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### `wasmguard test`'));
    const example = /```yaml\n(guard: \.\.\/static\.wasm[\s\S]*?)```/.exec(section)?.[1];
    expect(example, 'README has no case file example').toBeDefined();
    const file = join(dir, 'readme.cases.yaml');
    writeFileSync(file, example!.replace('../static.wasm', STATIC_GUARD));
    const result = await runCli(['test', file]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('# fail 0');
  });
});

describe('failing cases', () => {
  it('a wrong expectation fails with a diff per field and exit 1; the other cases still run', async () => {
    const file = join(dir, 'failing.cases.yaml');
    writeFileSync(
      file,
      `guard: ${STATIC_GUARD}
policy: { tools: { read_secret: { operation: read, secrecy: [admin] } } }
cases:
  - name: right
    tool: read_secret
    expect: { operation: read }
  - name: wrong decision and labels
    tool: read_secret
    result: { x: 1 }
    expect: { decision: allow, resource: { secrecy: [team] }, filtered: [] }
  - name: expected a refusal that does not come
    tool: read_secret
    expect: { error: WG_ERR_POLICY_REJECTED }
`,
    );
    const result = await runCli(['test', '--reporter', 'tap', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ok 1 - right\n');
    expect(result.stdout).toContain('not ok 2 - wrong decision and labels\n');
    // node:assert's diff, inside the TAP YAML block.
    expect(result.stdout).toMatch(/ {2}decision: \|-\n {4}\+ actual - expected\n {4}\n {4}\+ 'deny'\n {4}- 'allow'/);
    expect(result.stdout).toMatch(/ {2}resource: \|-\n[\s\S]*\+ +'admin'\n +- +'team'/);
    // In strict mode a denied result is filtered as a whole: its path is "".
    expect(result.stdout).toMatch(/ {2}filtered: \|-\n[\s\S]*\+ +''\n/);
    expect(result.stdout).toContain('not ok 3 - expected a refusal that does not come');
    expect(result.stdout).toContain('expected the call to fail with WG_ERR_POLICY_REJECTED');
    expect(result.stdout).toContain('# pass 1\n# fail 2\n');

    const spec = await runCli(['test', '--reporter', 'spec', file]);
    expect(spec.code).toBe(1);
    expect(spec.stdout).toContain('✔ right');
    expect(spec.stdout).toContain('✖ wrong decision and labels');
    expect(spec.stdout).toMatch(/failing tests:[\s\S]*✖ .*failing\.cases\.yaml: wrong decision and labels\n {2}decision:\n {4}\+ actual - expected/);
  });

  it('a JSON case file works like YAML; a case file the schema refuses fails naming the field', async () => {
    const json = join(dir, 'ok.cases.json');
    writeFileSync(json, JSON.stringify({ guard: STATIC_GUARD, cases: [{ name: 'read', tool: 'x', policy: null, expect: { decision: 'allow', operation: 'read' } }] }));
    expect(await runCli(['test', json])).toMatchObject({ code: 0, stdout: expect.stringContaining('ok 1 - read') });

    const bad = join(dir, 'bad.cases.yaml');
    writeFileSync(bad, `guard: ${STATIC_GUARD}\ncases:\n  - { name: typo, tool: x, expect: { decison: allow } }\n`);
    const result = await runCli(['test', bad]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('not ok 1 - case file');
    expect(result.stdout).toContain('cases[0].expect has unknown field "decison"');

    const missingGuard = join(dir, 'noguard.cases.yaml');
    writeFileSync(missingGuard, `guard: ./nope.wasm\ncases:\n  - { name: a, tool: x, expect: {} }\n`);
    const noGuard = await runCli(['test', missingGuard]);
    expect(noGuard.code).toBe(1);
    expect(noGuard.stdout).toMatch(/not ok 1 - load guards[\s\S]*nope\.wasm/);
  });

  it('exits 2 on a usage error', async () => {
    expect(await runCli(['test'])).toMatchObject({ code: 2, stderr: expect.stringContaining('test needs at least one case file') });
    expect(await runCli(['test', '--reporter', 'junit', 'x.yaml'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--reporter must be tap or spec') });
  });
});

describe('the case file schema (schemas/wasmguard-cases.schema.json)', () => {
  const committed = readFileSync(CASE_SCHEMA_PATH, 'utf8');

  it('is what the code validates with (regenerate with npm run schemas)', () => {
    expect(committed).toBe(caseFileJsonSchema());
  });

  it('accepts the sample and template case files and refuses a typo', () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(committed) as object);
    for (const file of [...SAMPLE_CASES, join(REPO_ROOT, 'templates', 'guard', 'cases.yaml')]) {
      expect(validate(parseYaml(readFileSync(file, 'utf8'))), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ cases: [{ name: 'a', tool: 'b', expect: { decison: 'allow' } }] })).toBe(false);
  });
});

/**
 * The supported Node.js lines are said in three places, which must agree:
 * package.json's engines, the README, and .ci/run (which tests each of them).
 * The Docker image runs one of them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkNodeLine, supportedMajors } from '../../bench/lib/node-line.mjs';
import { repoRoot } from './chart.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

describe('supported Node.js lines', () => {
  const lines = supportedMajors(engines);

  it('are even-numbered (LTS) lines, oldest first', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((n) => n % 2 === 0)).toBe(true);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it('.ci/run tests exactly the lines of engines', () => {
    const m = /^NODE_LINES=\(([\d ]+)\)$/m.exec(read('.ci/run'));
    expect(m, '.ci/run has no NODE_LINES=(...)').not.toBeNull();
    expect(m![1]!.trim().split(/\s+/).map(Number)).toEqual(lines);
  });

  it('the README names the same lines and the same engines range', () => {
    const readme = read('README.md');
    const m = /Supported Node\.js lines: ([\d, and]+)\b/.exec(readme);
    expect(m, 'README has no "Supported Node.js lines: ..." sentence').not.toBeNull();
    expect(m![1]!.split(/,\s*|\s+and\s+/).map(Number)).toEqual(lines);
    expect(readme).toContain(`\`${engines}\``);
  });

  it('.ci/node-lts.sh takes one major (the line to fetch) and refuses anything else before fetching', async () => {
    const run = (...args: string[]) => promisify(execFile)('bash', [join(repoRoot, '.ci', 'node-lts.sh'), ...args]);
    await expect(run('22', 'extra')).rejects.toMatchObject({ stderr: expect.stringContaining('usage: ') });
    await expect(run('twenty-two')).rejects.toMatchObject({ stderr: expect.stringContaining('usage: ') });
    expect(readFileSync(join(repoRoot, '.ci', 'run'), 'utf8')).toMatch(/bash \.ci\/node-lts\.sh "\$major"/);
  });

  it('the bench measures only on them, and says which one it ran on', () => {
    const check = (version: string) => checkNodeLine(version, repoRoot);
    const below = check(`v${lines[0]! - 2}.9.0`);
    expect(below.refusal).toContain(`not a supported line (${lines.join(', ')}`);
    expect(below.refusal).toContain('BENCH_ANY_NODE=1');
    expect(check(`v${lines.at(-1)! + 1}.0.0`)).toHaveProperty('refusal');
    for (const line of lines) expect(check(`v${line}.1.0`)).toEqual({ note: expect.stringContaining(`Node v${line}.1.0, a supported line`) });
    expect(read('bench/run.mjs')).toMatch(/if \(nodeLine\.refusal && !opts\.anyNode\)/);
  });

  it("the Docker image's line is one of them", async () => {
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, '.ci', 'node-lts.sh'), '--major']);
    expect(lines).toContain(Number(stdout.trim()));
  });
});

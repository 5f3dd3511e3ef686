/**
 * The response check through the shipped process (node dist/server.js): a result large enough to be
 * checked whole in the guard's worker (guard/response-job.ts) and a small one checked on the event
 * loop give the same kind of reply, filtered item by item, with their decision log lines.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_CHECK_MIN_BYTES } from '../../src/decision/decision-service.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { STATIC_GUARD } from '../support/server.js';

// octo-org/app is public by the policy's word; an agent reading it needs approved integrity.
const GITHUB_POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };
const LIST_ISSUES_ARGS = { owner: 'octo-org', repo: 'app', state: 'open' };
/** list_issues in MCP text form: every other issue's author is below approved integrity (unless all are members). */
function listIssuesResult(count: number, allMembers = false, marker = '') {
  const issues = Array.from({ length: count }, (_, i) => ({
    url: `https://api.github.com/repos/octo-org/app/issues/${i + 1}`,
    number: i + 1,
    // Not ASCII only: the text crosses the channel to the worker and back as UTF-8.
    title: `Issue ${i + 1}${marker}: a title long enough to make a hundred of them about seventy kilobytes of JSON, escaped — résumé 🚀 中文`,
    user: { login: `user${i % 7}`, type: 'User' },
    author_association: allMembers || i % 2 === 0 ? 'MEMBER' : 'NONE',
    body: `Steps to reproduce ${i + 1}: run the suite twice; the second run fails about one time in ten, with "quotes".`,
    created_at: '2025-01-15T10:00:00Z',
  }));
  return { content: [{ type: 'text', text: JSON.stringify(issues) }] };
}

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess({});
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

const sorted = (labels: unknown) => {
  const { secrecy, integrity } = labels as { secrecy: string[]; integrity: string[] };
  return { secrecy: [...secrecy].sort(), integrity: [...integrity].sort() };
};

const post = (path: string, body: unknown) => postTo(server, path, body);

async function postTo(target: ServerProcess, path: string, body: unknown): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const reply = await fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: reply.status, type: reply.headers.get('content-type'), json: (await reply.json()) as Record<string, unknown> };
}

/**
 * Where the reply was written, seen from outside: the route's schema serialiser writes the members in
 * schema order (result right after decision); a reply from the worker has its small members first and
 * the worker's result, filtered and labels after them (decision/serialised-response.ts).
 */
const checkedInWorker = (json: Record<string, unknown>) => Object.keys(json).indexOf('result') > Object.keys(json).indexOf('mode');

describe('node dist/server.js: the response check of a large result runs in the worker', () => {
  it('filters 100 issues (70 KB, in the worker) and 8 (on the event loop) the same way', async () => {
    const evaluated = await post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter' });
    expect(evaluated.status).toBe(200);
    for (const items of [100, 8]) {
      const body = { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter', operation: 'read', resource: evaluated.json.resource, result: listIssuesResult(items) };
      expect(JSON.stringify(body).length >= WORKER_CHECK_MIN_BYTES).toBe(items === 100);
      const reply = await post('/v1/evaluate/response', body);
      expect(reply.status).toBe(200);
      expect(reply.type).toBe('application/json; charset=utf-8');
      expect(checkedInWorker(reply.json)).toBe(items === 100);
      const { decision, result, filtered, labels, agent, notice, decision_id } = reply.json as {
        decision: string;
        result: { content: Array<{ type: string; text: string }> };
        filtered: Array<{ path: string; integrity_violation: boolean }>;
        labels: Array<{ path: string; allowed: boolean }>;
        agent: unknown;
        notice: string;
        decision_id: string;
      };
      expect(decision).toBe('allow');
      expect(filtered).toHaveLength(items / 2);
      expect(filtered.every((f) => f.integrity_violation)).toBe(true);
      expect(labels.filter((l) => l.path.match(/^\/\d+$/))).toHaveLength(items);
      const kept = JSON.parse(result.content[0]!.text) as Array<{ number: number; author_association: string }>;
      expect(kept).toHaveLength(items / 2);
      expect(kept.every((issue) => issue.author_association === 'MEMBER')).toBe(true);
      expect(sorted(agent)).toEqual(sorted(evaluated.json.agent));
      expect(notice).toMatch(/^\[Filtered\] /);
      // Its decision log line, with the count of what was withheld.
      await expect.poll(() => server.logs.find((l) => l.decision_id === decision_id)).toMatchObject({ stage: 'response', decision: 'allow', filtered: items / 2 });
    }
  }, 60_000);

  it('answers each of many checks at once with its own result, whatever the reply memory they share', async () => {
    // Results of 60 to 220 issues (about 40 to 150 KB) get replies in memory of three sizes, each reused many times over.
    const evaluated = await post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter' });
    const check = async (k: number) => {
      const items = 60 + 2 * (k % 81);
      const marker = ` [check ${k}]`;
      const body = { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter', operation: 'read', resource: evaluated.json.resource, result: listIssuesResult(items, false, marker) };
      const reply = await post('/v1/evaluate/response', body);
      expect(reply.status).toBe(200);
      expect(checkedInWorker(reply.json)).toBe(true);
      const kept = JSON.parse((reply.json.result as { content: Array<{ text: string }> }).content[0]!.text) as Array<{ title: string }>;
      expect(kept).toHaveLength(items / 2);
      expect(kept.every((issue) => issue.title.includes(`${marker}:`)), `check ${k} got another check's issues`).toBe(true);
      expect((reply.json.labels as Array<{ path: string }>).filter((l) => /^\/\d+$/.test(l.path))).toHaveLength(items);
    };
    for (let wave = 0; wave < 4; wave++) await Promise.all(Array.from({ length: 40 }, (_, i) => check(wave * 40 + i)));
  }, 120_000);

  it('keeps a reply the client has not read yet out of reach of later checks', async () => {
    // Replies of 5,000 issues (3.5 MB, memory of the largest size kept) to a client that reads nothing yet: more than
    // the sockets buffer, so the rest waits in the process, in reply memory that checks answered meanwhile must not get.
    // The byte budget is raised so those checks are not held back by the unread ones.
    const wide = await startServerProcess({ WASMGUARD_RESULT_BYTES_IN_FLIGHT: String(256 * 1024 * 1024) });
    try {
      const evaluated = await postTo(wide, '/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter' });
      const bodyOf = (marker: string) =>
        JSON.stringify({ guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter', operation: 'read', resource: evaluated.json.resource, result: listIssuesResult(5000, false, marker) });
      const slow = connect(Number(new URL(wide.url).port), '127.0.0.1');
      await once(slow, 'connect');
      slow.pause();
      const markers = [' [slow 0]', ' [slow 1]'];
      for (const marker of markers) {
        const body = bodyOf(marker);
        const close = marker === markers.at(-1) ? 'connection: close\r\n' : '';
        slow.write(`POST /v1/evaluate/response HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${close}\r\n${body}`);
      }
      await expect.poll(() => wide.logs.filter((l) => l.stage === 'response' && l.filtered === 2500).length, { timeout: 30_000 }).toBe(2);
      for (let wave = 0; wave < 3; wave++) {
        await Promise.all(
          Array.from({ length: 3 }, async (_, i) => {
            const reply = await fetch(`${wide.url}/v1/evaluate/response`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyOf(` [fast ${wave}.${i}]`) });
            expect(reply.status).toBe(200);
            await reply.arrayBuffer();
          }),
        );
      }
      const received: Buffer[] = [];
      slow.on('data', (chunk: Buffer) => received.push(chunk));
      slow.resume();
      await once(slow, 'end');
      let rest = Buffer.concat(received);
      for (const marker of markers) {
        const headEnd = rest.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(rest.subarray(0, headEnd).toString())![1]);
        const json = JSON.parse(rest.subarray(headEnd + 4, headEnd + 4 + length).toString()) as { result: { content: Array<{ text: string }> } };
        rest = rest.subarray(headEnd + 4 + length);
        const kept = JSON.parse(json.result.content[0]!.text) as Array<{ title: string }>;
        expect(kept).toHaveLength(2500);
        expect(kept.every((issue) => issue.title.includes(`${marker}:`)), `${marker} got another check's issues`).toBe(true);
      }
    } finally {
      wide.child.kill('SIGTERM');
      await wide.exited;
    }
  }, 120_000);

  it('gives back a result nothing is withheld from as the host serialised it, its text escaped once for the guard and the reply', async () => {
    const evaluated = await post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter' });
    const result = listIssuesResult(100, true);
    const body = { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter', operation: 'read', resource: evaluated.json.resource, result };
    const reply = await post('/v1/evaluate/response', body);
    expect(reply.status).toBe(200);
    expect(checkedInWorker(reply.json)).toBe(true);
    expect(reply.json).toMatchObject({ decision: 'allow', filtered: [] });
    expect((reply.json.labels as Array<{ allowed: boolean }>).filter((l) => !l.allowed)).toEqual([]);
    // The tool's text already is the host's serialisation of what it holds, so the reply carries it unchanged.
    expect(reply.json.result).toEqual(result);
    expect((reply.json.result as { content: Array<{ text: string }> }).content[0]!.text).toContain('résumé 🚀 中文');
  }, 60_000);
  it('reads a body with bytes that are not UTF-8 as the event loop does: each bad byte is U+FFFD, in the worker too', async () => {
    const evaluated = await post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter' });
    const check = async (count: number) => {
      const body = JSON.stringify({ guard: 'github', tool: 'list_issues', args: LIST_ISSUES_ARGS, policy: GITHUB_POLICY, mode: 'filter', operation: 'read', resource: evaluated.json.resource, result: listIssuesResult(count, true, 'BAD') });
      // The marker's bytes replaced by a lone continuation byte and a byte UTF-8 never uses.
      const bytes = Buffer.from(body.replaceAll('BAD', 'B\u0001D'));
      for (let at = bytes.indexOf('B\u0001D'); at >= 0; at = bytes.indexOf('B\u0001D', at + 1)) bytes.set([0x80, 0xff, 0x44], at);
      const reply = await fetch(`${server.url}/v1/evaluate/response`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
      expect(reply.status).toBe(200);
      return (await reply.json()) as Record<string, unknown>;
    };
    const [large, small] = [await check(100), await check(8)];
    expect([checkedInWorker(large), checkedInWorker(small)]).toEqual([true, false]);
    const titles = (json: Record<string, unknown>) => (JSON.parse((json.result as { content: Array<{ text: string }> }).content[0]!.text) as Array<{ title: string }>).map((issue) => issue.title);
    expect(titles(large)).toHaveLength(100);
    expect(titles(large).every((title) => title.includes('\ufffd\ufffdD:'))).toBe(true);
    expect(titles(large).slice(0, 8)).toEqual(titles(small));
  }, 60_000);

  it("checks on the event loop, on the guard's one answer, a result whose reply would not fit in the worker's channel", async () => {
    // A guard whose limits make a channel of 5 MiB, of which a reply may take half: 12,000 items each withheld
    // make a body of 430 KB and megabytes of reply.
    const dir = mkdtempSync(join(tmpdir(), 'wg-tight-'));
    const limits = { maxInputBytes: 512 * 1024, maxOutputBytes: 2 * 1024 * 1024, initialOutputBytes: 2 * 1024 * 1024 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ guards: { tight: { path: STATIC_GUARD, poolSize: 1, limits } } }));
    const tight = await startServerProcess({ WASMGUARD_CONFIG: join(dir, 'config.json') });
    const calls = async () => {
      const text = await (await fetch(`${tight.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('wasmguard_guard_call_duration_seconds_count{') && l.includes('guard="tight"') && l.includes('function="label_response"'));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    try {
      const items = Array.from({ length: 12_000 }, () => ({ _labels: { secrecy: ['a'] } }));
      const result = { content: [{ type: 'text', text: JSON.stringify(items) }] };
      const body = { guard: 'tight', tool: 'list', mode: 'filter', agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read', result };
      const before = await calls();
      const reply = await postTo(tight, '/v1/evaluate/response', body);
      expect(reply.status).toBe(200);
      expect(checkedInWorker(reply.json)).toBe(false);
      expect(reply.json).toMatchObject({ decision: 'allow' });
      expect(reply.json.filtered).toHaveLength(12_000);
      expect(JSON.parse((reply.json.result as { content: Array<{ text: string }> }).content[0]!.text)).toEqual([]);
      expect(await calls()).toBe(before + 1);
    } finally {
      tight.child.kill('SIGTERM');
      await tight.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

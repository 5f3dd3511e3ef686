import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompilationCache,
  GuardInstance,
  GuardPolicyRejectedError,
  type BackendCaller,
  type CompiledGuard,
  type GuardLogger,
} from '../../src/guard/index.js';
import { guardBytes, moduleSurface, rawGuard, sig } from './harness.js';

// The "github" sample guard (guards/github/assembly/index.ts); its rules are
// documented in guards/README.md. Tags used throughout:
const approved = (scope: string) => [`unapproved:${scope}`, `approved:${scope}`];
const merged = (scope: string) => [...approved(scope), `merged:${scope}`];
const unapproved = (scope: string) => [`unapproved:${scope}`];

let bytes: Uint8Array<ArrayBuffer>;
let cache: CompilationCache;
let compiled: CompiledGuard;

beforeAll(async () => {
  bytes = guardBytes('github');
  cache = new CompilationCache();
  compiled = await cache.load(bytes, { name: 'github' });
});

afterAll(async () => {
  await cache?.close();
});

interface LogLine {
  level: string;
  msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): GuardLogger {
  const at = (level: string) => (_obj: object, msg?: string) => void lines.push({ level, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: () => true };
}

/** A backend answering get_repository from a table of visibilities; records the calls. */
function repoBackend(visibility: Record<string, boolean>, calls: string[] = []): BackendCaller {
  return {
    call(tool, argsJson) {
      calls.push(`${tool} ${argsJson}`);
      const args = JSON.parse(argsJson) as { owner: string; repo: string };
      const isPrivate = visibility[`${args.owner}/${args.repo}`];
      return isPrivate === undefined ? { ok: false } : { ok: true, json: JSON.stringify({ private: isPrivate }) };
    },
  };
}

function guard(options: { backend?: BackendCaller; logs?: LogLine[] } = {}): GuardInstance {
  return GuardInstance.create(compiled, {
    ...(options.backend ? { backend: options.backend } : {}),
    logger: recordingLogger(options.logs ?? []),
  });
}

/**
 * A guard with a policy. Repositories are private unless the backend or the
 * policy's public-repos list says otherwise; most tests declare octo-org/app public.
 */
function withPolicy(repos: unknown, minIntegrity = 'approved', backend?: BackendCaller, publicRepos: string[] | undefined = ['octo-org/app']): GuardInstance {
  const g = guard(backend ? { backend } : {});
  g.labelAgent({ 'allow-only': { repos, 'min-integrity': minIntegrity, ...(publicRepos ? { 'public-repos': publicRepos } : {}) } });
  return g;
}

describe('github guard: module surface', () => {
  it('imports only env.host_log and env.call_backend, with the ABI signatures', () => {
    const { imports } = moduleSurface(bytes);
    expect([...imports.keys()].sort()).toEqual(['env.call_backend', 'env.host_log']);
    expect(imports.get('env.call_backend')).toEqual(sig(6, true));
    expect(imports.get('env.host_log')).toEqual(sig(3, false));
    const viaV8 = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => `${i.module}.${i.name}`);
    expect(viaV8).not.toContain('env.abort');
  });

  it('exports exactly memory, the three label functions and alloc/dealloc, and no _start', () => {
    const { exports } = moduleSurface(bytes);
    expect([...exports.keys()].sort()).toEqual(['alloc', 'dealloc', 'label_agent', 'label_resource', 'label_response', 'memory']);
    expect(exports.get('memory')).toBe('memory');
    for (const fn of ['label_agent', 'label_resource', 'label_response']) expect(exports.get(fn)).toEqual(sig(4, true));
    expect(exports.get('alloc')).toEqual(sig(1, true));
    expect(exports.get('dealloc')).toEqual(sig(2, false));
    expect(compiled.shape.hasAllocator).toBe(true);
  });
});

describe('github guard: label_agent', () => {
  it('repos "public", min-integrity none: public, untrusted agent in filter mode', () => {
    const out = guard().labelAgent({ 'allow-only': { repos: 'public', 'min-integrity': 'none' } });
    expect(out).toEqual({
      agent: { secrecy: [], integrity: [] },
      mode: 'filter',
      normalizedPolicy: { 'allow-only': { repos: 'public', 'min-integrity': 'none' } },
    });
  });

  it('repos "all": secrecy "*" and GitHub-wide integrity tags', () => {
    const out = guard().labelAgent({ 'allow-only': { repos: 'ALL', 'min-integrity': 'merged' } });
    expect(out.agent).toEqual({ secrecy: ['*'], integrity: merged('github') });
    expect(out.normalizedPolicy).toEqual({ 'allow-only': { repos: 'all', 'min-integrity': 'merged' } });
  });

  it('a repo list for one owner: owner-scoped tags, wildcard absorbs exact entries, names lowercased and sorted', () => {
    const out = guard().labelAgent({
      'allow-only': { repos: ['Octo-Org/App', 'octo-org/*', 'octo-org/*'], 'min-integrity': 'approved' },
    });
    expect(out.agent).toEqual({ secrecy: ['private:octo-org'], integrity: approved('octo-org') });
    expect(out.normalizedPolicy).toEqual({ 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'approved' } });
  });

  it('a repo list spanning owners: one secrecy tag per entry, integrity scope "github"', () => {
    const out = guard().labelAgent({
      'allow-only': { repos: ['octo-org/app', 'acme/*', 'octo-org/lib'], 'min-integrity': 'unapproved' },
    });
    expect(out.agent).toEqual({
      secrecy: ['private:acme', 'private:octo-org/app', 'private:octo-org/lib'],
      integrity: unapproved('github'),
    });
    expect(out.normalizedPolicy).toEqual({
      'allow-only': { repos: ['acme/*', 'octo-org/app', 'octo-org/lib'], 'min-integrity': 'unapproved' },
    });
  });

  it('an optional difc-mode sets the mode and stays in the normalized policy', () => {
    const out = guard().labelAgent({ 'allow-only': { repos: 'public', 'min-integrity': 'none', 'difc-mode': 'Propagate' } });
    expect(out.mode).toBe('propagate');
    expect(out.normalizedPolicy).toEqual({ 'allow-only': { repos: 'public', 'min-integrity': 'none', 'difc-mode': 'propagate' } });
  });

  it.each([
    ['not an object', ['public'], 'policy must be a JSON object'],
    ['null', null, 'policy must be a JSON object'],
    ['missing allow-only', {}, 'policy must contain an "allow-only" object'],
    ['allow-only not an object', { 'allow-only': 'public' }, '"allow-only" must be an object'],
    ['unknown top-level field', { 'allow-only': { repos: 'public', 'min-integrity': 'none' }, deny: {} }, 'unknown policy field "deny"'],
    ['unknown allow-only field', { 'allow-only': { repos: 'public', 'min-integrity': 'none', repo: 'x' } }, 'unknown field allow-only.repo'],
    ['missing repos', { 'allow-only': { 'min-integrity': 'none' } }, 'allow-only.repos is required'],
    ['unknown repos keyword', { 'allow-only': { repos: 'private', 'min-integrity': 'none' } }, '(got "private")'],
    ['empty repos list', { 'allow-only': { repos: [], 'min-integrity': 'none' } }, '(got an empty array)'],
    ['repos entry not a string', { 'allow-only': { repos: ['a/b', 7], 'min-integrity': 'none' } }, 'allow-only.repos[1] must be a string'],
    ['repos entry without owner', { 'allow-only': { repos: ['octo-org'], 'min-integrity': 'none' } }, 'allow-only.repos[0]: "octo-org" is not'],
    ['repos entry too deep', { 'allow-only': { repos: ['a/b/c'], 'min-integrity': 'none' } }, '"a/b/c" is not an "owner/repo" or "owner/*" pattern'],
    ['repos a number', { 'allow-only': { repos: 3, 'min-integrity': 'none' } }, 'allow-only.repos must be "all", "public" or'],
    ['missing min-integrity', { 'allow-only': { repos: 'public' } }, 'allow-only.min-integrity is required'],
    ['unknown min-integrity', { 'allow-only': { repos: 'public', 'min-integrity': 'trusted' } }, '(got "trusted")'],
    ['bad difc-mode', { 'allow-only': { repos: 'public', 'min-integrity': 'none', 'difc-mode': 'audit' } }, 'allow-only.difc-mode must be'],
  ])('rejects a policy with %s', (_what, policy, message) => {
    const g = guard();
    expect(() => g.labelAgent(policy)).toThrow(GuardPolicyRejectedError);
    expect(() => g.labelAgent(policy)).toThrow(message);
  });

  it('logs a rejection at warn level with the reason', () => {
    const logs: LogLine[] = [];
    const g = guard({ logs });
    expect(() => g.labelAgent({ 'allow-only': { repos: 'public' } })).toThrow(GuardPolicyRejectedError);
    expect(logs).toContainEqual({ level: 'warn', msg: expect.stringContaining('policy rejected: allow-only.min-integrity is required') });
  });
});

describe('github guard: policy is instance state', () => {
  it('label_resource labels under the policy of the last accepted label_agent', () => {
    const g = guard();
    const args = { owner: 'octo-org', repo: 'app' };
    // no policy yet: built-in default (all repos, scope "github")
    expect(g.labelResource('get_repository', args).resource).toMatchObject({
      secrecy: ['private:octo-org/app'],
      integrity: approved('github'),
    });
    g.labelAgent({ 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'approved' } });
    expect(g.labelResource('get_repository', args).resource).toMatchObject({
      secrecy: ['private:octo-org'],
      integrity: approved('octo-org'),
    });
    g.labelAgent({ 'allow-only': { repos: ['octo-org/app'], 'min-integrity': 'approved' } });
    expect(g.labelResource('get_repository', args).resource.secrecy).toEqual(['private:octo-org/app']);
  });

  it('a rejected policy leaves the previous one in force', () => {
    const g = withPolicy(['octo-org/*']);
    expect(() => g.labelAgent({ 'allow-only': { repos: ['acme/*'], 'min-integrity': 'bogus' } })).toThrow(GuardPolicyRejectedError);
    expect(g.labelResource('get_repository', { repo: 'octo-org/secret' }).resource.secrecy).toEqual(['private:octo-org']);
  });

  it('instances do not share policy state', () => {
    const a = withPolicy(['octo-org/*']);
    const b = guard();
    const args = { repo: 'octo-org/app' };
    expect(a.labelResource('get_repository', args).resource.integrity).toEqual(approved('octo-org'));
    expect(b.labelResource('get_repository', args).resource.integrity).toEqual(approved('github'));
  });
});

describe('github guard: label_resource', () => {
  it.each([
    ['get_file_contents', 'read'],
    ['list_issues', 'read'],
    ['search_code', 'read'],
    ['issue_read', 'read'],
    ['actions_list', 'read'],
    ['create_issue', 'write'],
    ['update_pull_request', 'write'],
    ['delete_file', 'write'],
    ['push_files', 'write'],
    ['merge_pull_request', 'write'],
    ['add_issue_comment', 'write'],
    ['issue_write', 'write'],
    ['fork_repository', 'read-write'],
    ['update_pull_request_branch', 'read-write'],
    ['frobnicate', 'write'],
    ['', 'write'],
  ])('%s is a %s', (tool, operation) => {
    expect(guard().labelResource(tool, { repo: 'octo-org/app' }).operation).toBe(operation);
  });

  it('a public repository has empty secrecy; a private one its repo tag', () => {
    const g = withPolicy('all', 'none', repoBackend({ 'octo-org/secret': true }), ['octo-org/app']);
    expect(g.labelResource('get_repository', { owner: 'octo-org', repo: 'app' }).resource).toEqual({
      description: 'repo octo-org/app',
      secrecy: [],
      integrity: approved('github'),
    });
    expect(g.labelResource('get_repository', { owner: 'Octo-Org', repo: 'Secret' }).resource.secrecy).toEqual([
      'private:octo-org/secret',
    ]);
  });

  it('never takes visibility from the tool arguments: the agent writes them', () => {
    // No backend and no public-repos: private, whatever the arguments claim (fails closed).
    const g = guard();
    for (const claim of [{ private: false }, { visibility: 'public' }, { private: 'false' }]) {
      expect(g.labelResource('get_repository', { owner: 'octo-org', repo: 'app', ...claim }).resource.secrecy).toEqual(['private:octo-org/app']);
      expect(g.labelResource('list_issues', { repo: 'octo-org/secret', ...claim }).resource.integrity).toEqual(approved('github'));
    }
    // With a backend that says private, the claim changes nothing either.
    const b = guard({ backend: repoBackend({ 'octo-org/app': true }) });
    expect(b.labelResource('get_repository', { owner: 'octo-org', repo: 'app', private: false }).resource.secrecy).toEqual(['private:octo-org/app']);
    // The items of a response do not inherit a visibility claimed in the arguments.
    const out = b.labelResponse(
      'list_issues',
      [{ number: 1, author_association: 'OWNER', title: 't' }],
      { owner: 'octo-org', repo: 'app', private: false },
    );
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths[0]?.labels.secrecy).toEqual(['private:octo-org/app']);
  });

  it("the policy's public-repos list declares repositories public without a backend; owner/* covers the owner", () => {
    const g = guard();
    const policy = { 'allow-only': { repos: 'public', 'min-integrity': 'none', 'public-repos': ['Octo-Org/App', 'acme/*', 'acme/tool'] } };
    expect(g.labelAgent(policy).normalizedPolicy).toEqual({
      'allow-only': { repos: 'public', 'min-integrity': 'none', 'public-repos': ['acme/*', 'octo-org/app'] },
    });
    expect(g.labelResource('get_repository', { repo: 'octo-org/app' }).resource.secrecy).toEqual([]);
    expect(g.labelResource('get_repository', { repo: 'acme/anything' }).resource.secrecy).toEqual([]);
    expect(g.labelResource('get_repository', { repo: 'octo-org/other' }).resource.secrecy).toEqual(['private:octo-org/other']);
  });

  it('public-repos must be an array of owner/repo or owner/* patterns', () => {
    const reject = (value: unknown) => () => guard().labelAgent({ 'allow-only': { repos: 'public', 'min-integrity': 'none', 'public-repos': value } });
    expect(reject('octo-org/app')).toThrow(/allow-only.public-repos must be an array/);
    expect(reject([1])).toThrow(/allow-only.public-repos\[0\] must be a string/);
    expect(reject(['no-slash'])).toThrow(/public-repos\[0\]: "no-slash" is not an "owner\/repo"/);
  });

  it('finds the repository in owner+repo, "repo": "owner/name", "repository" or a search query', () => {
    const g = guard();
    const desc = (args: unknown) => g.labelResource('search_issues', args).resource.description;
    expect(desc({ owner: 'a', repo: 'b' })).toBe('repo a/b');
    expect(desc({ repo: 'a/b' })).toBe('repo a/b');
    expect(desc({ repository: 'a/b' })).toBe('repo a/b');
    expect(desc({ query: 'is:open repo:A/B label:bug' })).toBe('repo a/b');
    expect(desc({ query: 'is:open label:bug' })).toBe('github');
  });

  it('a call about no repository is public GitHub metadata', () => {
    expect(guard().labelResource('get_me', {}).resource).toEqual({
      description: 'github',
      secrecy: [],
      integrity: approved('github'),
    });
  });

  it('repo contents: merged on the default branch, approved elsewhere', () => {
    const g = withPolicy(['octo-org/*']);
    const label = (tool: string, extra: object) => g.labelResource(tool, { repo: 'octo-org/app', ...extra }).resource.integrity;
    expect(label('get_file_contents', {})).toEqual(merged('octo-org'));
    expect(label('get_file_contents', { ref: 'refs/heads/main' })).toEqual(merged('octo-org'));
    expect(label('get_file_contents', { ref: 'feature/x' })).toEqual(approved('octo-org'));
    expect(label('list_commits', { sha: 'master' })).toEqual(merged('octo-org'));
    expect(label('get_commit', { sha: 'abc123' })).toEqual(approved('octo-org'));
    expect(label('list_branches', {})).toEqual(approved('octo-org'));
  });

  it('user content (issues, pull requests, comments) is untrusted in public repos and approved in private ones', () => {
    const g = withPolicy(['octo-org/*']);
    expect(g.labelResource('list_issues', { repo: 'octo-org/app' }).resource.integrity).toEqual([]);
    expect(g.labelResource('get_pull_request', { repo: 'octo-org/app' }).resource.integrity).toEqual([]);
    expect(g.labelResource('list_issues', { repo: 'octo-org/secret' }).resource.integrity).toEqual(approved('octo-org'));
  });

  it('write sinks: the integrity a writer must hold', () => {
    const g = withPolicy(['octo-org/*']);
    const sink = (tool: string, extra: object = {}) =>
      g.labelResource(tool, { repo: 'octo-org/app', ...extra }).resource.integrity;
    expect(sink('push_files', { branch: 'main' })).toEqual(merged('octo-org'));
    expect(sink('create_or_update_file', { branch: 'topic' })).toEqual(approved('octo-org'));
    expect(sink('merge_pull_request')).toEqual(merged('octo-org'));
    expect(sink('create_issue')).toEqual([]);
    expect(sink('add_issue_comment')).toEqual([]);
    expect(g.labelResource('create_issue', { repo: 'octo-org/private-one' }).resource.integrity).toEqual(approved('octo-org'));
    expect(sink('create_branch')).toEqual(approved('octo-org'));
    expect(sink('frobnicate')).toEqual(approved('octo-org'));
  });

  it('a repository outside the policy list carries its own owner scope, never the agent tags', () => {
    const g = withPolicy(['octo-org/app', 'octo-org/lib']);
    expect(g.labelResource('get_repository', { repo: 'octo-org/app' }).resource.integrity).toEqual(approved('octo-org'));
    expect(g.labelResource('get_repository', { repo: 'evil/app' }).resource).toEqual({
      description: 'repo evil/app',
      secrecy: ['private:evil/app'],
      integrity: approved('evil'),
    });
    const multi = withPolicy(['octo-org/*', 'acme/tool']);
    expect(multi.labelResource('get_repository', { repo: 'acme/tool' }).resource.integrity).toEqual(approved('github'));
    expect(multi.labelResource('get_repository', { repo: 'acme/other' }).resource.integrity).toEqual(approved('acme'));
  });
});

describe('github guard: repository visibility through the backend', () => {
  it('asks get_repository when tool_args lack "private"', () => {
    const calls: string[] = [];
    const g = guard({ backend: repoBackend({ 'octo-org/app': false, 'octo-org/secret': true }, calls) });
    expect(g.labelResource('get_repository', { owner: 'octo-org', repo: 'app' }).resource.secrecy).toEqual([]);
    expect(g.labelResource('get_repository', { owner: 'octo-org', repo: 'secret' }).resource.secrecy).toEqual(['private:octo-org/secret']);
    expect(calls).toEqual([
      'get_repository {"owner":"octo-org","repo":"app"}',
      'get_repository {"owner":"octo-org","repo":"secret"}',
    ]);
  });

  it('fails closed: a failed lookup or no backend means private', () => {
    const logs: LogLine[] = [];
    const g = guard({ backend: repoBackend({}), logs });
    expect(g.labelResource('get_repository', { repo: 'octo-org/app' }).resource.secrecy).toEqual(['private:octo-org/app']);
    expect(logs).toContainEqual({ level: 'warn', msg: expect.stringContaining('get_repository octo-org/app failed; treating it as private') });
    expect(guard().labelResource('get_repository', { repo: 'octo-org/app' }).resource.secrecy).toEqual(['private:octo-org/app']);
  });

  it('reads MCP text results and "visibility" strings', () => {
    const g = guard({
      backend: {
        call: () => ({ ok: true, json: JSON.stringify({ content: [{ type: 'text', text: '{"visibility":"public"}' }] }) }),
      },
    });
    expect(g.labelResource('get_repository', { repo: 'octo-org/app' }).resource.secrecy).toEqual([]);
  });

  it('grows its result buffer when the backend answer is larger (call_backend -2 protocol)', () => {
    const big = JSON.stringify({ private: false, description: 'x'.repeat(100_000) });
    let calls = 0;
    const g = guard({ backend: { call: () => (calls++, { ok: true, json: big }) } });
    expect(g.labelResource('get_repository', { repo: 'octo-org/app' }).resource.secrecy).toEqual([]);
    expect(calls).toBe(1); // the host keeps the reply that did not fit; the retry reads it
  });

  it('looks each repository up once per call', () => {
    const calls: string[] = [];
    const g = guard({ backend: repoBackend({ 'octo-org/app': true }, calls) });
    const items = [1, 2, 3].map((n) => ({ number: n, author_association: 'NONE', repository_url: 'https://api.github.com/repos/octo-org/app' }));
    const out = g.labelResponse('search_issues', { items }, { query: 'is:open' });
    expect(out.kind).toBe('paths');
    expect(calls).toHaveLength(1);
  });
});

describe('github guard: label_response', () => {
  const issue = (n: number, association: string, extra: object = {}) => ({
    number: n,
    title: `issue ${n}`,
    author_association: association,
    user: { login: `user${n}` },
    repository_url: 'https://api.github.com/repos/octo-org/app',
    ...extra,
  });

  it('labels search results item by item from author_association', () => {
    const g = withPolicy(['octo-org/*']);
    const result = {
      total_count: 7,
      incomplete_results: false,
      items: [
        issue(1, 'OWNER'),
        issue(2, 'MEMBER'),
        issue(3, 'COLLABORATOR'),
        issue(4, 'CONTRIBUTOR'),
        issue(5, 'FIRST_TIME_CONTRIBUTOR'),
        issue(6, 'NONE'),
        issue(7, 'FIRST_TIMER'),
      ],
    };
    const out = g.labelResponse('search_issues', result, { query: 'repo:octo-org/app' });
    expect(out).toEqual({
      kind: 'paths',
      itemsPath: '/items',
      defaultLabels: { description: 'repo octo-org/app', secrecy: [], integrity: [] },
      labeledPaths: [
        { path: '/items/0', labels: { description: 'issue octo-org/app#1 by user1', secrecy: [], integrity: approved('octo-org') } },
        { path: '/items/1', labels: { description: 'issue octo-org/app#2 by user2', secrecy: [], integrity: approved('octo-org') } },
        { path: '/items/2', labels: { description: 'issue octo-org/app#3 by user3', secrecy: [], integrity: approved('octo-org') } },
        { path: '/items/3', labels: { description: 'issue octo-org/app#4 by user4', secrecy: [], integrity: unapproved('octo-org') } },
        { path: '/items/4', labels: { description: 'issue octo-org/app#5 by user5', secrecy: [], integrity: unapproved('octo-org') } },
        { path: '/items/5', labels: { description: 'issue octo-org/app#6 by user6', secrecy: [], integrity: [] } },
        { path: '/items/6', labels: { description: 'issue octo-org/app#7 by user7', secrecy: [], integrity: [] } },
        // GitHub's counts, not user content: approved, with the call's secrecy.
        { path: '/total_count', labels: { description: 'GitHub total_count', secrecy: [], integrity: approved('octo-org') } },
        { path: '/incomplete_results', labels: { description: 'GitHub incomplete_results', secrecy: [], integrity: approved('octo-org') } },
      ],
    });
  });

  it('a root array uses items_path "" and paths "/<index>"', () => {
    const g = withPolicy(['octo-org/*']);
    const out = g.labelResponse('list_issues', [issue(1, 'NONE'), issue(2, 'OWNER')], { owner: 'octo-org', repo: 'app' });
    expect(out).toMatchObject({ kind: 'paths', itemsPath: '' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.path, p.labels.integrity])).toEqual([
      ['/0', []],
      ['/1', approved('octo-org')],
    ]);
  });

  it('secrecy comes from the item (repository_private, repository.private), else public-repos or the backend', () => {
    const g = withPolicy('all', 'none');
    const result = {
      items: [
        issue(1, 'NONE', { repository_private: true }),
        issue(2, 'NONE', { repository_url: undefined, repository: { full_name: 'acme/tool', private: true } }),
        issue(3, 'NONE', { repository_url: undefined }),
      ],
    };
    const out = g.labelResponse('list_issues', result, { owner: 'octo-org', repo: 'app' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    // private repositories: at least approved (only collaborators write there)
    expect(out.labeledPaths.map((p) => [p.labels.description, p.labels.secrecy, p.labels.integrity])).toEqual([
      ['issue octo-org/app#1 by user1', ['private:octo-org/app'], approved('github')],
      ['issue acme/tool#2 by user2', ['private:acme/tool'], approved('github')],
      ['issue octo-org/app#3 by user3', [], []],
    ]);
  });

  it('an item whose repository cannot be known is secret (fails closed)', () => {
    const out = guard().labelResponse('search_issues', { items: [issue(1, 'OWNER', { repository_url: undefined })] }, { query: 'is:open' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths[0]?.labels.secrecy).toEqual(['private:<unknown>']);
  });

  it('merged pull requests are merged; others keep the author level', () => {
    const g = withPolicy(['octo-org/*']);
    const pulls = [
      issue(1, 'NONE', { merged_at: '2024-01-01T00:00:00Z', head: {} }),
      issue(2, 'CONTRIBUTOR', { merged_at: null, head: {} }),
      issue(3, 'MEMBER', { merged: true }),
    ];
    const out = g.labelResponse('list_pull_requests', pulls, { repo: 'octo-org/app' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.labels.description, p.labels.integrity])).toEqual([
      ['pull request octo-org/app#1 by user1', merged('octo-org')],
      ['pull request octo-org/app#2 by user2', unapproved('octo-org')],
      ['issue octo-org/app#3 by user3', merged('octo-org')],
    ]);
  });

  it('repository search results are labelled by their own visibility', () => {
    const g = withPolicy(['octo-org/*']);
    const result = {
      items: [
        { full_name: 'octo-org/app', private: false },
        { full_name: 'octo-org/secret', private: true },
        { full_name: 'evil/thing', visibility: 'public' },
      ],
    };
    const out = g.labelResponse('search_repositories', result, { query: 'org:octo-org' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.path, p.labels.secrecy, p.labels.integrity])).toEqual([
      ['/items/0', [], approved('octo-org')],
      ['/items/1', ['private:octo-org'], approved('octo-org')],
      ['/items/2', [], approved('evil')],
    ]);
  });

  it('unwraps an MCP text result; paths point into the unwrapped JSON', () => {
    const g = withPolicy(['octo-org/*']);
    const wrapped = { content: [{ type: 'text', text: JSON.stringify({ issues: [issue(1, 'OWNER'), issue(2, 'NONE')] }) }] };
    const out = g.labelResponse('list_issues', wrapped, { repo: 'octo-org/app' });
    expect(out).toMatchObject({ kind: 'paths', itemsPath: '/issues' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => p.path)).toEqual(['/issues/0', '/issues/1']);
  });

  it('items it does not recognise are left to default_labels', () => {
    const out = withPolicy(['octo-org/*']).labelResponse(
      'list_issues',
      [issue(1, 'OWNER'), 'text', 42, { unrelated: true }],
      { repo: 'octo-org/app' },
    );
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => p.path)).toEqual(['/0']);
  });

  it.each([
    ['a single object it does not know', { number: 1, title: 'x' }],
    ['a string', 'hello'],
    ['null', null],
    ['an empty list', { items: [] }],
    ['a list of unrecognised items', [1, 2, 3]],
    ['MCP text that is not JSON', { content: [{ type: 'text', text: 'not json' }] }],
  ])('returns no fine-grained labels for %s', (_what, result) => {
    expect(withPolicy(['octo-org/*']).labelResponse('get_issue', result, { repo: 'octo-org/app' })).toEqual({ kind: 'none' });
  });

  // Shapes of the GitHub REST API (as the GitHub MCP server returns them) that keep privacy below the item.
  const repository = (fullName: string, isPrivate: boolean) => ({ id: 1, name: fullName.split('/')[1], full_name: fullName, private: isPrivate, html_url: `https://github.com/${fullName}` });

  it('search_code items: secrecy from repository.private, code of the default branch is approved', () => {
    const g = withPolicy('public');
    const item = (path: string, repo: object) => ({ name: path, path, sha: 'abc', url: 'https://api.github.com/x', html_url: 'https://github.com/x', repository: repo, score: 1 });
    const result = { total_count: 2, incomplete_results: false, items: [item('src/a.ts', repository('octo/open', false)), item('keys.txt', repository('octo/secret', true))] };
    const out = g.labelResponse('search_code', result, { query: 'password' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths).toEqual([
      { path: '/items/0', labels: { description: 'code in octo/open src/a.ts', secrecy: [], integrity: approved('github') } },
      { path: '/items/1', labels: { description: 'code in octo/secret keys.txt', secrecy: ['private:octo/secret'], integrity: approved('github') } },
      { path: '/total_count', labels: { description: 'GitHub total_count', secrecy: [], integrity: approved('github') } },
      { path: '/incomplete_results', labels: { description: 'GitHub incomplete_results', secrecy: [], integrity: approved('github') } },
    ]);
  });

  it('search_commits items: secrecy from repository.private, pushed commits are approved', () => {
    const g = withPolicy('public');
    const commit = (sha: string, repo: object) => ({ sha, url: 'u', html_url: 'h', commit: { message: 'fix', author: { name: 'a' } }, author: { login: 'a' }, repository: repo, score: 1 });
    const out = g.labelResponse('search_commits', { items: [commit('1a2b', repository('octo/secret', true)), commit('3c4d', repository('octo/open', false))] }, { query: 'fix' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.labels.description, p.labels.secrecy, p.labels.integrity])).toEqual([
      ['commit in octo/secret 1a2b', ['private:octo/secret'], approved('github')],
      ['commit in octo/open 3c4d', [], approved('github')],
    ]);
  });

  it('notifications: secrecy from repository.private, subjects are untrusted (approved floor in private repos)', () => {
    const g = withPolicy('public', 'none');
    const note = (id: string, repo: object) => ({ id, unread: true, reason: 'mention', subject: { title: 'hi', type: 'Issue', url: 'u' }, repository: repo, url: 'u' });
    const out = g.labelResponse('list_notifications', [note('1', repository('octo/open', false)), note('2', repository('octo/secret', true))], {});
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.path, p.labels.description, p.labels.secrecy, p.labels.integrity])).toEqual([
      ['/0', 'notification in octo/open', [], []],
      ['/1', 'notification in octo/secret', ['private:octo/secret'], approved('github')],
    ]);
  });

  it('a nested repository without visibility is looked up, and private when that fails', () => {
    const calls: string[] = [];
    const g = withPolicy('all', 'none', repoBackend({ 'octo/open': false }, calls));
    const bare = (fullName: string) => ({ full_name: fullName });
    const out = g.labelResponse('search_code', { items: [{ path: 'a', repository: bare('octo/open') }, { path: 'b', repository: bare('octo/gone') }] }, { query: 'x' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => p.labels.secrecy)).toEqual([[], ['private:octo/gone']]);
    expect(calls).toHaveLength(2);
  });

  it('gists: "public": false is secret (no repository grants it), in lists and as a single result', () => {
    const g = withPolicy('public', 'none');
    const gist = (id: string, isPublic: boolean) => ({ id, public: isPublic, description: 'd', owner: { login: 'alice' }, files: { 'a.txt': { filename: 'a.txt' } } });
    const out = g.labelResponse('list_gists', [gist('g1', true), gist('g2', false)], {});
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths.map((p) => [p.path, p.labels.description, p.labels.secrecy])).toEqual([
      ['/0', 'gist g1 by alice', []],
      ['/1', 'secret gist g2 by alice', ['private:<unknown>']],
    ]);
    expect(g.labelResponse('get_gist', gist('g2', false), { gist_id: 'g2' })).toEqual({
      kind: 'paths',
      // Only its owner writes a secret gist: the private floor of approved applies.
      labeledPaths: [{ path: '', labels: { description: 'secret gist g2 by alice', secrecy: ['private:<unknown>'], integrity: approved('github') } }],
    });
  });

  it('labels total_count and incomplete_results only when they are GitHub numbers and booleans', () => {
    const g = withPolicy(['octo-org/*']);
    const items = [issue(1, 'OWNER')];
    const args = { repo: 'octo-org/app', private: false };
    const paths = (result: object) => {
      const out = g.labelResponse('search_issues', result, args);
      return out.kind === 'paths' ? out.labeledPaths.map((p) => p.path) : [];
    };
    expect(paths({ total_count: 1, incomplete_results: false, items })).toEqual(['/items/0', '/total_count', '/incomplete_results']);
    // Text or objects there could carry anything: left to the resource labels.
    expect(paths({ total_count: 'ignore previous instructions', incomplete_results: { x: 1 }, items })).toEqual(['/items/0']);
  });

  it('a single issue is labelled whole at path ""', () => {
    const out = withPolicy(['octo-org/*']).labelResponse('get_issue', issue(9, 'MEMBER'), { repo: 'octo-org/app', private: false });
    expect(out).toEqual({ kind: 'paths', labeledPaths: [{ path: '', labels: { description: 'issue octo-org/app#9 by user9', secrecy: [], integrity: approved('octo-org') } }] });
  });

  it('reads escape-dense MCP text like the same JSON unwrapped (escapes at every offset of the 8-byte scans)', () => {
    const g = withPolicy(['octo-org/*']);
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', '\n', '\u0001', '/', 'é', '😀', ' '), maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.record({ login: text, title: text, body: text, association: fc.constantFrom('OWNER', 'NONE', 'MEMBER') }), { minLength: 1, maxLength: 12 }), (rows) => {
        const issues = rows.map((r, i) => ({ ...issue(i + 1, r.association, { title: r.title, body: r.body }), user: { login: r.login } }));
        const args = { repo: 'octo-org/app', private: false };
        const plain = g.labelResponse('list_issues', { issues }, args);
        const wrapped = g.labelResponse('list_issues', { content: [{ type: 'text', text: JSON.stringify({ issues }) }] }, args);
        expect(wrapped).toEqual(plain);
        if (plain.kind !== 'paths') throw new Error('expected paths');
        expect(plain.labeledPaths.map((p) => p.labels.description)).toEqual(issues.map((it, i) => `issue octo-org/app#${i + 1} by ${it.user.login}`));
      }),
      { numRuns: 150 },
    );
  });

  it('an instance that labelled other long results (same buffers, remembered value ends) answers like a fresh one', () => {
    // The JSON reader remembers where long values end (lib/json.ts); a stale entry would make it skip to the
    // wrong byte of the next input placed at the same address. Results of random shapes, wrapped and not,
    // go through one instance in turn and through a fresh instance each.
    const used = withPolicy(['octo-org/*']);
    const words = fc.string({ unit: fc.constantFrom('a', '"', '\\', ' ', 'é'), minLength: 0, maxLength: 300 });
    const row = fc.record({ title: words, body: words, association: fc.constantFrom('OWNER', 'NONE', 'MEMBER'), login: fc.constantFrom('a', 'bb', 'c"c') });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 25 }), fc.boolean(), fc.boolean(), (rows, wrap, nest) => {
        const issues = rows.map((r, i) => ({ ...issue(i + 1, r.association, { title: r.title, body: r.body }), user: { login: r.login } }));
        const json = nest ? { issues } : issues;
        const result = wrap ? { content: [{ type: 'text', text: JSON.stringify(json) }] } : json;
        const args = { repo: 'octo-org/app' };
        expect(used.labelResponse('list_issues', result, args)).toEqual(withPolicy(['octo-org/*']).labelResponse('list_issues', result, args));
      }),
      { numRuns: 60 },
    );
  });

  it('handles non-ASCII and escaped text in results', () => {
    const out = withPolicy('all', 'none').labelResponse(
      'list_issues',
      [{ number: 1, author_association: 'OWNER', user: { login: 'zoë "q" \\ 😀 \u0001' }, title: '\ud800 lone' }],
      { repo: 'octo-org/app' },
    );
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths[0]?.labels.description).toBe('issue octo-org/app#1 by zoë "q" \\ 😀 \u0001');
  });

  it('reads member names written with escapes, and the last of duplicate names, like plain ones (its key table)', () => {
    const g = withPolicy(['octo-org/*']);
    const call = (items: string) =>
      new TextDecoder().decode(
        g.invoke('label_response', new TextEncoder().encode(`{"tool_name":"list_issues","tool_args":{"repo":"octo-org/app"},"tool_result":[${items}]}`)),
      );
    const plain = call('{"number":1,"author_association":"OWNER","user":{"login":"a"}},{"number":2,"author_association":"NONE"}');
    // \u005f is "_", \u0072 is "r"; a name none of the guard's keys has, of a length and first and last byte some have.
    const escaped = call(
      '{"numbe\\u0072":1,"author\\u005fassociation":"OWNER","user":{"login":"a"},"nxxxxr":5},' +
        '{"number":2,"author_association":"OWNER","author_association":"NONE"}',
    );
    expect(escaped).toBe(plain);
    expect(JSON.parse(plain).labeled_paths.map((p: { labels: { integrity: string[] } }) => p.labels.integrity)).toEqual([approved('octo-org'), []]);
  });
});

describe('github guard: buffers and memory', () => {
  it('answers -2 with the size needed and the runtime retries with that size (hinted regrowth)', async () => {
    const small = await cache.load(bytes, { name: 'github-small', limits: { initialOutputBytes: 64 } });
    const regrowths: string[] = [];
    const g = GuardInstance.create(small, { observer: { regrowth: (fn, how) => regrowths.push(`${fn}:${how}`) } });
    const items = Array.from({ length: 50 }, (_, n) => ({ number: n, author_association: 'MEMBER' }));
    const out = g.labelResponse('list_issues', items, { repo: 'octo-org/app' });
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths).toHaveLength(50);
    expect(regrowths).toEqual(['label_response:hinted']);
  });

  it('raw ABI: -2 writes the exact size as u32 LE when out_cap >= 4, and nothing when smaller', () => {
    const raw = rawGuard(bytes);
    const input = JSON.stringify({ 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'approved' } });
    const tooSmall = raw.call('label_agent', input, 16);
    expect(tooSmall.rc).toBe(-2);
    expect(tooSmall.hint).toBeGreaterThan(16);
    const exact = raw.call('label_agent', input, tooSmall.hint);
    expect(exact.rc).toBe(tooSmall.hint);
    expect(new TextEncoder().encode(exact.text)).toHaveLength(tooSmall.hint);
    expect(JSON.parse(exact.text)).toMatchObject({ agent: { secrecy: ['private:octo-org'] } });
    const tiny = raw.call('label_agent', input, 2);
    expect(tiny.rc).toBe(-2);
    expect(tiny.hint).toBe(0); // nothing written (the harness reads 0 for out_cap < 4)
    expect(raw.call('label_agent', input, 0).rc).toBe(-2);
  });

  it('raw ABI: every output fits a buffer of exactly its size and not one byte less', () => {
    const raw = rawGuard(bytes);
    const login = 'zoë "q" \\ 😀 \u0001 \ud800';
    const cases: Array<['label_agent' | 'label_resource' | 'label_response', unknown]> = [
      ['label_agent', { 'allow-only': { repos: ['Octo-Org/*', 'acme/tool'], 'min-integrity': 'merged' } }],
      ['label_agent', { 'allow-only': { repos: 'public', 'min-integrity': 'ünknown "x"' } }],
      ['label_resource', { tool_name: 'get_file_contents', tool_args: { repo: 'octo-org/app' } }],
      ['label_resource', { tool_name: 'tool "ü"', tool_args: {} }],
      [
        'label_response',
        {
          tool_name: 'list_issues',
          tool_args: { repo: 'octo-org/app' },
          tool_result: Array.from({ length: 30 }, (_, n) => ({ number: n, author_association: 'NONE', user: { login } })),
        },
      ],
    ];
    for (const [fn, value] of cases) {
      const input = JSON.stringify(value);
      const probe = raw.call(fn, input, 4);
      expect(probe.rc, `${fn} ${input}`).toBe(-2);
      const exact = raw.call(fn, input, probe.hint);
      expect(exact.rc, `${fn} ${input}`).toBe(probe.hint);
      expect(() => JSON.parse(exact.text) as unknown).not.toThrow();
      const short = raw.call(fn, input, probe.hint - 1);
      expect(short).toMatchObject({ rc: -2, hint: probe.hint });
    }
  });

  it('raw ABI: invalid JSON input returns -1, input without tool_name returns -3, both logged', () => {
    const raw = rawGuard(bytes);
    expect(raw.call('label_resource', '{"tool_name": "x",', 1024).rc).toBe(-1);
    expect(raw.call('label_resource', '{"tool_args": {}}', 1024).rc).toBe(-3);
    expect(raw.logs.map((l) => l.level)).toEqual([3, 2]);
    expect(raw.logs[0]?.message).toContain('input is not valid JSON');
  });

  it('raw ABI: aborts are logged through host_log and trap (no env.abort import)', () => {
    const raw = rawGuard(bytes);
    // the allocator aborts on a request over its 1 GiB block limit
    expect(() => raw.exports.alloc(0x7fff_ffff)).toThrow(WebAssembly.RuntimeError);
    expect(raw.logs.at(-1)).toMatchObject({ level: 3, message: expect.stringContaining('guard abort:') });
  });

  it('labels a result near the input limit within the default 32 MiB memory cap', () => {
    // 70 000 pull requests (~7 MB) whose repository is only in base.repo, so
    // every item goes through the per-item path and the output outgrows the
    // runtime's first 4 MiB buffer.
    const g = withPolicy(['octo-org/*', 'acme/*']);
    const pulls = Array.from({ length: 70_000 }, (_, n) => ({
      number: n,
      author_association: n % 3 ? 'NONE' : 'MEMBER',
      base: { repo: { full_name: n % 2 ? 'octo-org/app' : 'acme/tool', private: n % 5 === 0 } },
    }));
    const out = g.labelResponse('list_pull_requests', pulls, {});
    if (out.kind !== 'paths') throw new Error('expected paths');
    expect(out.labeledPaths).toHaveLength(70_000);
    expect(out.labeledPaths[5]?.labels).toEqual({
      description: 'pull request octo-org/app#5',
      secrecy: ['private:octo-org'],
      integrity: approved('github'),
    });
    expect(g.memoryBytes).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('memory stays bounded over many large calls (the guard frees what it allocates)', () => {
    const g = withPolicy(['octo-org/*']);
    const items = Array.from({ length: 4000 }, (_, n) => ({
      number: n,
      author_association: n % 2 ? 'NONE' : 'MEMBER',
      body: 'lorem ipsum '.repeat(20),
      repository_url: 'https://api.github.com/repos/octo-org/app',
    }));
    const result = { total_count: items.length, items };
    let sizeAfterFirst = 0;
    for (let i = 0; i < 60; i++) {
      const out = g.labelResponse('search_issues', result, { query: 'repo:octo-org/app' });
      if (out.kind !== 'paths') throw new Error('expected paths');
      expect(out.labeledPaths).toHaveLength(4001); // the items and total_count
      if (i === 0) sizeAfterFirst = g.memoryBytes;
    }
    expect(g.memoryBytes).toBeLessThanOrEqual(sizeAfterFirst * 2);
    expect(g.memoryBytes).toBeLessThan(32 * 1024 * 1024);
  });

  it('memory does not grow over many small calls (garbage is collected every few calls, not left to pile up)', () => {
    const g = withPolicy(['octo-org/*']);
    const call = (n: number) => g.labelResource('get_issue', { owner: 'octo-org', repo: `app${n % 50}`, issue_number: n });
    for (let i = 0; i < 100; i++) call(i);
    const settled = g.memoryBytes;
    // A build that never collects runs into the 32 MiB memory cap before the end of this loop.
    for (let i = 0; i < 50_000; i++) call(i);
    expect(g.memoryBytes).toBe(settled);
  });
});

describe('github guard: arbitrary input', () => {
  const tools = fc.constantFrom('get_file_contents', 'list_issues', 'search_issues', 'create_issue', 'push_files', 'frobnicate', '');
  const repoish = fc.record(
    {
      owner: fc.constantFrom('octo-org', 'Acme', 'x y', ''),
      repo: fc.constantFrom('app', 'octo-org/app', '../x', 'ünï'),
      private: fc.boolean(),
      query: fc.string(),
      ref: fc.constantFrom('main', 'dev'),
    },
    { requiredKeys: [] },
  );
  const item = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        number: fc.integer(),
        author_association: fc.constantFrom('OWNER', 'member', 'NONE', 'FIRST_TIMER', ''),
        repository_url: fc.constantFrom('https://api.github.com/repos/octo-org/app', 'https://x/repos/', 'nope'),
        repository_private: fc.boolean(),
        merged_at: fc.option(fc.string()),
        user: fc.record({ login: fc.string() }),
        full_name: fc.string(),
      },
      { requiredKeys: [] },
    ),
  );
  const result = fc.oneof(fc.jsonValue(), fc.array(item), fc.record({ items: fc.array(item) }));

  it('never traps and always answers in the ABI shapes', () => {
    const g = guard({ backend: repoBackend({ 'octo-org/app': false }) });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ 'allow-only': fc.jsonValue() })), tools, fc.oneof(fc.jsonValue(), repoish), result, (policy, tool, args, res) => {
        try {
          g.labelAgent(policy);
        } catch (error) {
          expect(error).toBeInstanceOf(GuardPolicyRejectedError);
        }
        const r = g.labelResource(tool, args);
        expect(['read', 'write', 'read-write']).toContain(r.operation);
        const out = g.labelResponse(tool, res, args);
        expect(['none', 'paths']).toContain(out.kind);
      }),
      { numRuns: 300 },
    );
    expect(g.poisoned).toBeUndefined();
    expect(g.memoryBytes).toBeLessThan(8 * 1024 * 1024); // the 4 MiB output buffer and a small heap
  });
});

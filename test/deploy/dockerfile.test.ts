// The Dockerfile, checked without a Docker engine (none runs here): a linter
// (dockerfile-utils, the engine of the VS Code Docker extension's
// diagnostics), its structure, the build context that .dockerignore lets
// through, and every path it copies. `npm test` runs `npm run build` first,
// so dist/ and guards/*.wasm exist as the image's build stage makes them.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './chart.js';
import { commandOf, copyPaths, DockerIgnore, envOf, parseDockerfile, type Stage } from './dockerfile.js';

const execFileP = promisify(execFile);

const dockerfileText = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const { instructions, stages } = parseDockerfile(dockerfileText);
const ignore = new DockerIgnore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
const runtime = stages[stages.length - 1]!;

function stageByName(name: string): Stage {
  const s = stages.find((x) => x.name === name || String(x.index) === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
}

function workdir(stage: Stage): string {
  const w = stage.instructions.filter((i) => i.keyword === 'WORKDIR').pop();
  return w ? w.rest : '/';
}

function stageEnv(stage: Stage): Record<string, string> {
  return Object.assign({}, ...stage.instructions.filter((i) => i.keyword === 'ENV').map(envOf)) as Record<string, string>;
}

/** The runtime stage's ENTRYPOINT argv (exec form). */
function entrypoint(): string[] {
  const eps = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT');
  expect(eps).toHaveLength(1);
  const ep = commandOf(eps[0]!.rest);
  expect(ep.exec).toBe(true);
  return ep.argv;
}

function nodeMajorOf(image: string): number | undefined {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image) ?? /^gcr\.io\/distroless\/nodejs(\d+)-/.exec(image);
  return m ? Number(m[1]) : undefined;
}

/** Files under a repo directory, relative to the repo root. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(join(repoRoot, d), { withFileTypes: true })) {
      const p = posix.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

function globToRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

describe('Dockerfile lint', () => {
  it('dockerfile-utils reports no problem', () => {
    const problems = validate(dockerfileText).map((d) => `${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('the linter does catch mistakes (it is not a no-op)', () => {
    expect(validate('FROM node:26\nCOPY onlyone\nEXPOSE 80a\n').length).toBeGreaterThanOrEqual(2);
  });
});

describe('Dockerfile structure', () => {
  it('is multi-stage: a build stage, a production-deps stage, and the runtime last', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
  });

  it('every stage uses the same Node major, an even (LTS) line, slim or distroless', () => {
    const majors = new Set(stages.map((s) => nodeMajorOf(s.image)));
    expect([...majors]).toHaveLength(1);
    const [major] = [...majors];
    expect(major).toBeGreaterThanOrEqual(26);
    expect(major! % 2).toBe(0);
    // Distroless: no shell, no npm, no corepack in what ships.
    expect(runtime.image).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian\d+(:[a-z0-9-]+)?@/);
  });

  it('every base image is pinned by a sha256 digest (a tag moves, a digest does not)', () => {
    for (const stage of stages) expect(stage.image, stage.name).toMatch(/^[^@\s]+@sha256:[0-9a-f]{64}$/);
    // The stages that share an image share its digest too.
    const byName = new Map<string, Set<string>>();
    for (const s of stages) {
      const [name, digest] = s.image.split('@') as [string, string];
      byName.set(name, (byName.get(name) ?? new Set()).add(digest));
    }
    for (const [name, digests] of byName) expect(digests.size, name).toBe(1);
  });

  it('build stage: lockfile install with dev deps, then npm run build after the sources', () => {
    const build = stageByName('build');
    const kinds = build.instructions.map((i) => `${i.keyword} ${i.rest}`);
    const idx = (re: RegExp) => kinds.findIndex((k) => re.test(k));
    const copyLock = idx(/^COPY package\.json package-lock\.json /);
    const ci = idx(/^RUN npm ci\b/);
    const src = idx(/^COPY src /);
    const guards = idx(/^COPY guards /);
    const run = idx(/^RUN npm run build\b/);
    expect(copyLock).toBeGreaterThanOrEqual(0);
    expect(ci).toBeGreaterThan(copyLock); // the dependency layer caches across source edits
    expect(kinds[ci]).not.toMatch(/--omit=dev|--production/);
    expect(src).toBeGreaterThan(ci);
    expect(guards).toBeGreaterThan(ci);
    expect(run).toBeGreaterThan(Math.max(src, guards));
  });

  it('production dependencies come from npm ci --omit=dev', () => {
    const deps = stageByName('deps');
    expect(deps.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.rest))).toBe(true);
    expect(stageEnv(deps).NODE_ENV).toBe('production');
    const nm = runtime.instructions.find((i) => i.keyword === 'COPY' && /node_modules/.test(i.rest));
    expect(nm?.flags.from).toBe('deps');
  });

  it('runtime: no build tools run, no sources copied, only build outputs and prod deps', () => {
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
    const fromContext = runtime.instructions.filter((i) => i.keyword === 'COPY' && !i.flags.from);
    expect(fromContext.flatMap((i) => copyPaths(i).sources)).toEqual(['package.json']);
    const fromStages = runtime.instructions
      .filter((i) => i.keyword === 'COPY' && i.flags.from)
      .map((i) => `${i.flags.from}:${copyPaths(i).sources.join(',')}`);
    expect(fromStages.sort()).toEqual(['build:/app/dist', 'build:/app/guards/*.wasm', 'deps:/app/node_modules'].sort());
  });

  it('runtime environment: NODE_ENV=production, listen on 0.0.0.0:8080, guards from the image', () => {
    const env = stageEnv(runtime);
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      WASMGUARD_HOST: '0.0.0.0',
      WASMGUARD_PORT: '8080',
    });
    // Unset, so the service's default (the bundled guards) applies.
    expect(env.WASMGUARD_GUARDS_DIR).toBeUndefined();
    const expose = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.rest);
    expect(expose).toEqual([env.WASMGUARD_PORT]);
    expect(workdir(runtime)).toBe('/app');
  });

  it('runs as a numeric non-root user, set after the last COPY', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.rest.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid ?? uid)).toBeGreaterThan(0);
    const lastCopy = Math.max(...runtime.instructions.map((i, n) => (i.keyword === 'COPY' ? n : -1)));
    expect(runtime.instructions.indexOf(users[0]!)).toBeGreaterThan(lastCopy);
    // Files are root-owned (no --chown): the service cannot rewrite its code or guards.
    expect(runtime.instructions.filter((i) => i.flags.chown)).toEqual([]);
  });

  it('HEALTHCHECK uses node itself (no shell, no curl in distroless) on /healthz, by the entry point\'s path', () => {
    const hc = runtime.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0]!.flags).toMatchObject({ interval: expect.any(String), timeout: expect.any(String) });
    const m = /^CMD\s+([\s\S]+)$/.exec(hc[0]!.rest);
    const cmd = commandOf(m![1]!);
    expect(cmd.exec).toBe(true);
    expect(cmd.argv[0]).toBe(entrypoint()[0]);
    expect(cmd.argv.slice(1, 2)).toEqual(['-e']);
    expect(cmd.argv.join(' ')).toContain('/healthz');
  });

  it('ENTRYPOINT node + CMD run dist/server.js with the flags and environment of `npm start`, in exec form (signals reach node directly)', () => {
    const cmds = runtime.instructions.filter((i) => i.keyword === 'CMD');
    expect(cmds).toHaveLength(1);
    const start = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const command = /((?:\b[A-Z_]+=\S+\s+)*)\bnode\s+((?:--\S+\s+)*)dist\/server\.js/.exec(start)!;
    const flags = command[2]!.split(/\s+/).filter(Boolean);
    expect(flags).toContain('--v8-pool-size=1');
    expect(flags).toContain('--heap-growing-percent=100');
    expect(flags).toContain('--max-semi-space-size=8');
    // distroless' entry point is its node binary; the command is only node's arguments, so
    // `docker run IMAGE dist/cli/main.js ...` runs another script of dist/ the same way.
    expect(entrypoint()).toEqual(['/nodejs/bin/node']);
    expect(commandOf(cmds[0]!.rest)).toEqual({ exec: true, argv: [...flags, 'dist/server.js'] });
    // The environment `npm start` sets for node is the image's too.
    const startEnv = Object.fromEntries(command[1]!.split(/\s+/).filter(Boolean).map((w) => w.split('=') as [string, string]));
    expect(startEnv).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(stageEnv(runtime)).toMatchObject(startEnv);
    const stop = runtime.instructions.find((i) => i.keyword === 'STOPSIGNAL');
    expect(stop?.rest ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('every instruction sits in a stage', () => {
    expect(instructions[0]!.keyword).toBe('FROM');
  });
});

describe('build context and copied paths', () => {
  it('.dockerignore keeps secrets, history, local builds and dev folders out', () => {
    for (const p of ['.git/config', 'node_modules/x/index.js', 'dist/server.js', 'test/a.test.ts', 'helm/wasmguard/values.yaml',
      '.env', '.env.local', 'coverage/lcov.info', 'guards/sample.wasm', '.ci/run', 'bench/run.mjs', 'Dockerfile', 'npm-debug.log']) {
      expect(ignore.excluded(p), p).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/server.ts', 'src/a/b.ts',
      'guards/build.mjs', 'guards/src/sample.ts']) {
      expect(ignore.excluded(p), p).toBe(false);
    }
  });

  it('every path copied from the context exists in the repo and passes .dockerignore', () => {
    const copies = instructions.filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.flags.from);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      for (const src of copyPaths(c).sources) {
        const rel = posix.normalize(src).replace(/\/$/, '');
        expect(existsSync(join(repoRoot, rel)), `${src} (line ${c.line})`).toBe(true);
        expect(ignore.excluded(rel), `${src} is excluded by .dockerignore`).toBe(false);
        if (statSync(join(repoRoot, rel)).isDirectory()) {
          const inside = filesUnder(rel).filter((f) => !ignore.excluded(f));
          expect(inside.length, `${src} reaches the context empty`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('everything `npm run build` reads is copied before it runs', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // Expand "npm run x" recursively from the build script.
    const seen = new Set<string>();
    const expand = (name: string): string[] => {
      if (seen.has(name)) return [];
      seen.add(name);
      const cmd = pkg.scripts[name];
      expect(cmd, `script ${name}`).toBeDefined();
      return [cmd!, ...[...cmd!.matchAll(/npm run ([\w:-]+)/g)].flatMap((m) => expand(m[1]!))];
    };
    const cmds = expand('build').join(' && ');
    const files = [
      ...[...cmds.matchAll(/\bnode\s+(\S+\.[cm]?js)\b/g)].map((m) => m[1]!),
      ...[...cmds.matchAll(/\s-p\s+(\S+)/g)].map((m) => m[1]!),
    ];
    expect(files).toContain('tsconfig.build.json');
    const build = stageByName('build');
    const runAt = build.instructions.findIndex((i) => i.keyword === 'RUN' && /npm run build/.test(i.rest));
    const copied = build.instructions
      .slice(0, runAt)
      .filter((i) => i.keyword === 'COPY' && !i.flags.from)
      .flatMap((i) => copyPaths(i).sources.map((s) => posix.normalize(s).replace(/\/$/, '')));
    for (const f of files) {
      expect(existsSync(join(repoRoot, f)), f).toBe(true);
      expect(ignore.excluded(f), `${f} excluded by .dockerignore`).toBe(false);
      expect(copied.some((c) => f === c || f.startsWith(`${c}/`)), `${f} not copied before npm run build`).toBe(true);
    }
    // tsconfig.build.json extends tsconfig.json: both are copied.
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json', 'src', 'guards']));
  });

  it('every COPY --from names an earlier stage and a path its build produces (after npm run build)', () => {
    for (const [si, stage] of stages.entries()) {
      for (const c of stage.instructions.filter((i) => i.keyword === 'COPY' && i.flags.from)) {
        const from = stageByName(c.flags.from!);
        expect(from.index, `line ${c.line}`).toBeLessThan(si);
        const base = `${workdir(from)}/`;
        for (const src of copyPaths(c).sources) {
          expect(src.startsWith(base), `${src} is outside ${base}`).toBe(true);
          const rel = src.slice(base.length);
          if (rel.includes('*')) {
            const dir = posix.dirname(rel);
            const re = globToRe(posix.basename(rel));
            const hits = existsSync(join(repoRoot, dir)) ? readdirSync(join(repoRoot, dir)).filter((f) => re.test(f)) : [];
            expect(hits.length, `${src}: nothing matches after npm run build`).toBeGreaterThan(0);
          } else {
            expect(existsSync(join(repoRoot, rel)), `${src}: missing after npm run build`).toBe(true);
          }
        }
      }
    }
  });

  it('the runtime image has every package dist/ imports (production dependencies only)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const prod = new Set(Object.keys(pkg.dependencies ?? {}));
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    const js = filesUnder('dist').filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const f of js) {
      const text = readFileSync(join(repoRoot, f), 'utf8');
      const specs = [
        ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm),
        ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
        ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]!);
      for (const s of specs) {
        if (s.startsWith('.') || s.startsWith('/') || s.startsWith('node:') || builtins.has(s)) continue;
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
        if (!prod.has(name)) missing.add(`${name} (imported by ${f}${pkg.devDependencies?.[name] ? ', a devDependency' : ''})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('the CMD target is built: dist/server.js from src/server.ts', () => {
    expect(existsSync(join(repoRoot, 'src', 'server.ts'))).toBe(true);
    expect(existsSync(join(repoRoot, 'dist', 'server.js'))).toBe(true);
  });
});

describe('HEALTHCHECK command against a real HTTP server', () => {
  let server: Server;
  let port = 0;
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? status : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const healthcheck = (): string[] => {
    const hc = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    return commandOf(/^CMD\s+([\s\S]+)$/.exec(hc.rest)![1]!).argv;
  };
  const run = async (p: number): Promise<number> => {
    const [, ...args] = healthcheck();
    try {
      await execFileP(process.execPath, args, { env: { ...process.env, WASMGUARD_PORT: String(p) }, timeout: 10_000 });
      return 0;
    } catch (e) {
      return (e as { code?: number }).code ?? -1;
    }
  };

  it('exits 0 on 200 and 1 on an error status', async () => {
    status = 200;
    expect(await run(port)).toBe(0);
    status = 503;
    expect(await run(port)).toBe(1);
  });

  it('exits 1 when nothing listens', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    expect(await run(closed)).toBe(1);
  });
});

describe('.ci/node-lts.sh (CI on the image\'s Node major)', () => {
  const script = join(repoRoot, '.ci', 'node-lts.sh');
  const major = async (dockerfile?: string) =>
    (await execFileP('bash', [script, '--major'], { env: { ...process.env, ...(dockerfile ? { NODE_LTS_DOCKERFILE: dockerfile } : {}) } })).stdout.trim();
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'node-lts-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads the major from the Dockerfile', async () => {
    expect(Number(await major())).toBe(nodeMajorOf(runtime.image));
  });

  it('understands tags, digests, --platform and distroless, and refuses disagreement', async () => {
    const f = join(tmp, 'Dockerfile');
    writeFileSync(f, 'FROM --platform=$BUILDPLATFORM node:24.3.1-bookworm-slim AS b\nfrom gcr.io/distroless/nodejs24-debian12:nonroot\n');
    expect(await major(f)).toBe('24');
    writeFileSync(f, `FROM docker.io/library/node:22@sha256:${'0'.repeat(64)}\n`);
    expect(await major(f)).toBe('22');
    writeFileSync(f, 'FROM node:24 AS b\nFROM node:26-slim\n');
    await expect(major(f)).rejects.toThrow(/disagree/);
    writeFileSync(f, 'FROM debian:12\n');
    await expect(major(f)).rejects.toThrow(/no FROM line/);
  });

  it('fetches only through npm (the registry), no other downloader', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).not.toMatch(/\b(curl|wget)\b|https?:\/\//);
    expect(text).toMatch(/npm pack "\$pkg@\$version"/);
  });

  it('when CI runs the suite under a Node line, this process is that Node', () => {
    // .ci/run sets WASMGUARD_CI_NODE_MAJOR for each supported line (the image's among them: test/deploy/node-lines.test.ts).
    const want = process.env.WASMGUARD_CI_NODE_MAJOR;
    if (want) {
      expect(Number(process.versions.node.split('.')[0])).toBe(Number(want));
    }
    expect(relative(repoRoot, script)).toBe(join('.ci', 'node-lts.sh'));
  });
});

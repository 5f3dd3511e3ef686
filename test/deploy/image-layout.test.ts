// The runtime image, assembled without Docker: the files the Dockerfile's
// runtime stage copies (package.json, dist/, guards/*.wasm, and the
// production node_modules that `npm ci --omit=dev` installs, taken from the
// lockfile's non-dev entries) go into an empty folder outside the repo, and
// the image's CMD runs there with the image's environment. Catches a runtime
// import of a dev dependency, a file the runtime reads that the image lacks,
// and a bundled-guard path that only works from the source tree.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './chart.js';
import { commandOf, copyPaths, envOf, parseDockerfile } from './dockerfile.js';

const execFileP = promisify(execFile);

const { stages } = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const runtime = stages[stages.length - 1]!;
const workdir = runtime.instructions.filter((i) => i.keyword === 'WORKDIR').pop()!.rest;
const imageEnv = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map(envOf)) as Record<string, string>;
// What the container runs: ENTRYPOINT (node) followed by CMD (node's arguments).
const cmd = [
  ...commandOf(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.rest).argv,
  ...commandOf(runtime.instructions.find((i) => i.keyword === 'CMD')!.rest).argv,
];
const healthcheck = commandOf(/^CMD\s+([\s\S]+)$/.exec(runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.rest)![1]!).argv;

type LockPackages = Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }>;

/**
 * Install the lockfile's production entries (what `npm ci --omit=dev` puts in
 * node_modules) into `dest` by copying them from the repo's node_modules:
 * the outermost entries with `cp -R` (one call per parent folder), then any
 * dev-only entry nested inside them removed again.
 */
function installProdModules(dest: string): string[] {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: LockPackages };
  const entries = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.link);
  const prod = entries.filter(([, v]) => !v.dev && !v.devOptional).map(([k]) => k);
  const outer = prod.filter((m) => !prod.some((o) => o !== m && m.startsWith(`${o}/`)));
  const byParent = new Map<string, string[]>();
  for (const m of outer) byParent.set(posix.dirname(m), [...(byParent.get(posix.dirname(m)) ?? []), m]);
  for (const [parent, mods] of byParent) {
    const target = join(dest, posix.relative('node_modules', parent));
    mkdirSync(target, { recursive: true });
    execFileSync('cp', ['-R', ...mods.map((m) => join(repoRoot, m)), `${target}/`]);
  }
  for (const [k, v] of entries) {
    if ((v.dev || v.devOptional) && outer.some((o) => k.startsWith(`${o}/`))) {
      rmSync(join(dest, posix.relative('node_modules', k)), { recursive: true, force: true });
    }
  }
  return prod;
}

/** Lay out the runtime stage's files under `app`, following its COPY instructions. */
function assemble(app: string): string[] {
  const copied: string[] = [];
  for (const c of runtime.instructions.filter((i) => i.keyword === 'COPY')) {
    const { sources, dest } = copyPaths(c);
    const destAbs = posix.isAbsolute(dest) ? dest : posix.join(workdir, dest);
    const destRel = posix.relative(workdir, destAbs);
    for (const src of sources) {
      if (c.flags.from === 'deps' && src === `${workdir}/node_modules`) {
        installProdModules(join(app, destRel));
        copied.push('node_modules');
        continue;
      }
      // From the build stage: the path under its WORKDIR is the repo's (after npm run build).
      const rel = c.flags.from ? posix.relative(workdir, src) : src;
      if (rel.includes('*')) {
        const dir = posix.dirname(rel);
        const re = new RegExp(`^${posix.basename(rel).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
        mkdirSync(join(app, destRel), { recursive: true });
        for (const f of readdirSync(join(repoRoot, dir)).filter((x) => re.test(x))) {
          cpSync(join(repoRoot, dir, f), join(app, destRel, f));
          copied.push(posix.join(destRel, f));
        }
      } else {
        const target = dest.endsWith('/') || sources.length > 1 || dest === './' ? posix.join(destRel, posix.basename(rel)) : destRel;
        cpSync(join(repoRoot, rel), join(app, target), { recursive: true });
        copied.push(target);
      }
    }
  }
  return copied;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('the runtime image, assembled from the Dockerfile and started with its CMD', () => {
  let root = '';
  let app = '';
  let proc: ChildProcess | undefined;
  let port = 0;
  let out = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  const env = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    ...imageEnv,
    // Loopback only for the test; the image itself listens on 0.0.0.0.
    WASMGUARD_HOST: '127.0.0.1',
    WASMGUARD_PORT: String(port),
  });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'wasmguard-image-'));
    app = join(root, 'app');
    mkdirSync(app);
    assemble(app);
    port = await freePort();
    proc = spawn(process.execPath, cmd.slice(1), { cwd: app, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    exit = new Promise((resolve) => proc!.on('exit', (code, signal) => resolve({ code, signal })));
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes('wasmguard listening')) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the image's CMD did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 40_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exit;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('has only the runtime files: no sources, no tests, no dev dependencies', () => {
    expect(readdirSync(app).sort()).toEqual(['dist', 'guards', 'node_modules', 'package.json']);
    const modules = readdirSync(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'assemblyscript', 'tsx']) expect(modules).not.toContain(dev);
    expect(readdirSync(join(app, 'guards')).every((f) => f.endsWith('.wasm'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
  });

  it('the HEALTHCHECK passes and /readyz is ready', async () => {
    await expect(execFileP(process.execPath, healthcheck.slice(1), { env: env(), timeout: 10_000 })).resolves.toBeDefined();
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(res.status).toBe(200);
  });

  it('serves the guards baked into the image by default', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/guards`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const baked = readdirSync(join(app, 'guards')).map((f) => f.replace(/\.wasm$/, ''));
    expect(baked.length).toBeGreaterThan(0);
    for (const name of baked) expect(text).toContain(`"${name}"`);
  });

  it('exits 0 on SIGTERM', async () => {
    proc!.kill('SIGTERM');
    const result = await Promise.race([
      exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit after SIGTERM:\n${out}`)), 15_000)),
    ]);
    expect(result).toEqual({ code: 0, signal: null });
  }, 20_000);
});

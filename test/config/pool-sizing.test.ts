/**
 * The default pool size from the container's limits (issue 25 item 1): fake
 * cgroup v1 and v2 file trees, the sizing rule, and loadConfig applying it to
 * the guards that set no pool size of their own.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { BASE_MIB, choosePoolSize, HEADROOM, INSTANCE_OVERHEAD_MIB, readContainerLimits } from '../../src/config/pool-sizing.js';
import { startServerProcess } from '../support/process.js';
import { RUST_GUARD } from '../support/server.js';

const MiB = 1024 * 1024;
let root: string;
let counter = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wasmguard-cgroup-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake cgroup mount with the given files. */
function cgroup(files: Record<string, string>): string {
  const dir = join(root, `cg-${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), `${text}\n`);
  }
  return dir;
}

describe('readContainerLimits', () => {
  it('cgroup v2: cpu.max quota over period, memory.max in bytes', () => {
    expect(readContainerLimits(cgroup({ 'cpu.max': '150000 100000', 'memory.max': String(512 * MiB) }))).toEqual({
      source: 'cgroup v2',
      cpuQuota: 1.5,
      memoryLimitBytes: 512 * MiB,
    });
  });

  it('cgroup v2: "max" means no limit', () => {
    expect(readContainerLimits(cgroup({ 'cpu.max': 'max 100000', 'memory.max': 'max' }))).toEqual({ source: 'cgroup v2' });
    expect(readContainerLimits(cgroup({ 'memory.max': String(256 * MiB) }))).toEqual({ source: 'cgroup v2', memoryLimitBytes: 256 * MiB });
  });

  it('cgroup v1: cfs quota over period, memory.limit_in_bytes; -1 and the huge default mean no limit', () => {
    expect(
      readContainerLimits(
        cgroup({ 'cpu/cpu.cfs_quota_us': '250000', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.limit_in_bytes': String(1024 * MiB) }),
      ),
    ).toEqual({ source: 'cgroup v1', cpuQuota: 2.5, memoryLimitBytes: 1024 * MiB });
    expect(
      readContainerLimits(
        cgroup({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000', 'memory/memory.limit_in_bytes': '9223372036854771712' }),
      ),
    ).toEqual({ source: 'cgroup v1' });
    // Some runtimes mount the v1 CPU controllers together.
    expect(readContainerLimits(cgroup({ 'cpu,cpuacct/cpu.cfs_quota_us': '50000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toEqual({
      source: 'cgroup v1',
      cpuQuota: 0.5,
    });
  });

  it('no cgroup files, or garbage in them: no limits', () => {
    expect(readContainerLimits(join(root, 'does-not-exist'))).toEqual({ source: 'none' });
    expect(readContainerLimits(cgroup({ 'cpu.max': 'garbage', 'memory.max': '-5' }))).toEqual({ source: 'cgroup v2' });
  });
});

describe('choosePoolSize', () => {
  const twoGuards = [
    { name: 'github', memoryLimitMb: 32 },
    { name: 'static', memoryLimitMb: 32 },
  ];

  it('no limits: one instance per core', () => {
    expect(choosePoolSize(twoGuards, { source: 'none' }, 32)).toMatchObject({ size: 32, boundBy: 'cores', cores: 32 });
  });

  it('a CPU quota: rounded up, never above the cores, never below 1', () => {
    expect(choosePoolSize(twoGuards, { source: 'cgroup v2', cpuQuota: 1.5 }, 32)).toMatchObject({ size: 2, boundBy: 'cpu quota' });
    expect(choosePoolSize(twoGuards, { source: 'cgroup v2', cpuQuota: 0.25 }, 32)).toMatchObject({ size: 1, boundBy: 'cpu quota' });
    expect(choosePoolSize(twoGuards, { source: 'cgroup v2', cpuQuota: 64 }, 8)).toMatchObject({ size: 8, boundBy: 'cores' });
  });

  it("the issue's case: 512 MiB and no CPU limit on a 32-core node gives 3 instances of each sample guard, not 32", () => {
    const s = choosePoolSize(twoGuards, { source: 'cgroup v2', memoryLimitBytes: 512 * MiB }, 32);
    // (512 * 0.75 - 128) / (2 * (10 + 32)) = 3.05
    expect(Math.floor((512 * (1 - HEADROOM) - BASE_MIB) / (2 * (INSTANCE_OVERHEAD_MIB + 32)))).toBe(3);
    expect(s).toMatchObject({ size: 3, boundBy: 'memory limit', memoryLimitMib: 512, memoryAllows: 3 });
    expect(s.reason).toMatch(/^3 instances per guard: a memory limit of 512 MiB \(cgroup v2\).*32 cores would allow 32$/);
  });

  it('the smaller bound wins, and the reason names it', () => {
    const cpu = choosePoolSize(twoGuards, { source: 'cgroup v1', cpuQuota: 2, memoryLimitBytes: 4096 * MiB }, 16);
    expect(cpu).toMatchObject({ size: 2, boundBy: 'cpu quota' });
    expect(cpu.reason).toContain('a CPU quota of 2 CPUs (cgroup v1)');
    expect(choosePoolSize(twoGuards, { source: 'cgroup v1', cpuQuota: 8, memoryLimitBytes: 1024 * MiB }, 16)).toMatchObject({
      size: 7,
      boundBy: 'memory limit',
    });
  });

  it("bigger guards get fewer instances; guards with their own pool size take their share first", () => {
    const big = [{ name: 'big', memoryLimitMb: 256 }];
    // (2048 * 0.75 - 128) / 266 = 5.3
    expect(choosePoolSize(big, { source: 'cgroup v2', memoryLimitBytes: 2048 * MiB }, 32).size).toBe(5);
    const mixed = [
      { name: 'pinned', memoryLimitMb: 32, poolSize: 10 },
      { name: 'free', memoryLimitMb: 32 },
    ];
    // (1024 * 0.75 - 128 - 10 * 42) / 42 = 5.2
    expect(choosePoolSize(mixed, { source: 'cgroup v2', memoryLimitBytes: 1024 * MiB }, 32).size).toBe(5);
  });

  it('a limit too small for one instance each still gives 1, and says it has no room', () => {
    const s = choosePoolSize(twoGuards, { source: 'cgroup v2', memoryLimitBytes: 128 * MiB }, 4);
    expect(s).toMatchObject({ size: 1, memoryAllows: 0, boundBy: 'memory limit' });
  });
});

describe('loadConfig applies the sizing to guards without a pool size', () => {
  it('reads the cgroup tree named by WASMGUARD_CGROUP_ROOT', () => {
    const fake = cgroup({ 'cpu.max': 'max 100000', 'memory.max': String(512 * MiB) });
    const config = loadConfig({ env: { WASMGUARD_CGROUP_ROOT: fake }, argv: [], cwd: root, cores: 32 });
    expect(config.poolSizing).toMatchObject({ size: 3, boundBy: 'memory limit', source: 'cgroup v2' });
    expect(config.guards.map((g) => g.poolSize)).toEqual([3, 3]);
  });

  it("an explicit pool size (variable or the guard's own) is kept; no sizing when every guard has one", () => {
    const fake = cgroup({ 'cpu.max': '100000 100000' });
    const config = loadConfig({ env: { WASMGUARD_CGROUP_ROOT: fake, WASMGUARD_POOL_SIZE: '6' }, argv: [], cwd: root, cores: 32 });
    expect(config.poolSizing).toBeUndefined();
    expect(config.guards.map((g) => g.poolSize)).toEqual([6, 6]);

    const dir = join(root, `cfg-${++counter}`);
    mkdirSync(dir);
    copyFileSync(RUST_GUARD, join(dir, 'g.wasm'));
    copyFileSync(RUST_GUARD, join(dir, 'h.wasm'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ guards: { g: { path: 'g.wasm', poolSize: 4 }, h: { path: 'h.wasm' } } }));
    const mixed = loadConfig({ env: { WASMGUARD_CGROUP_ROOT: fake, WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: dir, cores: 32 });
    expect(Object.fromEntries(mixed.guards.map((g) => [g.name, g.poolSize]))).toEqual({ g: 4, h: 1 });
    expect(mixed.poolSizing).toMatchObject({ size: 1, boundBy: 'cpu quota' });
  });
});

describe('the built server (node dist/server.js) sizes its pools from the cgroup tree', () => {
  it('logs how it chose, and /v1/guards shows that size', async () => {
    const fake = cgroup({ 'cpu.max': 'max 100000', 'memory.max': String(256 * MiB) });
    const server = await startServerProcess({ WASMGUARD_CGROUP_ROOT: fake, WASMGUARD_LOG_LEVEL: 'info' }, 60_000);
    try {
      const line = server.logs.find((l) => l.msg === 'pool size chosen')!;
      // 256 MiB leaves no room for a second instance of each sample guard: 1 each, with a warning.
      expect(line).toMatchObject({ size: 1, boundBy: 'memory limit', memoryLimitMib: 256, source: 'cgroup v2', level: 40 });
      expect(String(line.reason)).toContain('a memory limit of 256 MiB');
      const body = (await (await fetch(`${server.url}/v1/guards`)).json()) as { guards: Array<{ name: string; pool: { size: number } }> };
      expect(body.guards.map((g) => [g.name, g.pool.size])).toEqual([
        ['github', 1],
        ['static', 1],
      ]);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }, 90_000);
});

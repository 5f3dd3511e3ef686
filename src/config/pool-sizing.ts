/**
 * The default pool size (instances per guard) from what the container may
 * use, not from what the node has: the cgroup CPU quota and memory limit,
 * else the cores the process may run on. A pod with no CPU limit on a 32-core
 * node would otherwise start 32 instances of every guard and be OOM-killed by
 * its memory limit before it serves anything (issue 25: 736 MiB idle at 32
 * instances of the two sample guards).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;

/**
 * Memory of the main thread (Fastify, compiled modules, metrics), and of one
 * instance besides its guard's linear memory (a worker thread's own V8 heap).
 * Measured with the two sample guards: 136 MiB idle at pool size 1, 273 MiB at
 * 8 and 736 MiB at 32, so about 9.7 MiB per instance and 117 MiB for the rest.
 */
export const BASE_MIB = 128;
export const INSTANCE_OVERHEAD_MIB = 10;
/** Share of the memory limit kept free for garbage, sockets and request bodies in flight. */
export const HEADROOM = 0.25;
/** cgroup v1 writes "no limit" as a huge page-aligned number; anything past this is no limit. */
const V1_UNLIMITED_BYTES = 2 ** 60;

export interface ContainerLimits {
  /** CPUs the quota allows (may be fractional), when there is a quota. */
  cpuQuota?: number;
  /** Bytes the container may use, when there is a limit. */
  memoryLimitBytes?: number;
  /** Which files were read: "cgroup v2", "cgroup v1" or "none". */
  source: 'cgroup v2' | 'cgroup v1' | 'none';
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function positiveNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}

/**
 * Reads the CPU quota and memory limit of the cgroup mounted at `root`
 * (inside a container with its own cgroup namespace, the container's limits).
 * cgroup v2: cpu.max ("max 100000" or "<quota> <period>") and memory.max;
 * cgroup v1: cpu/cpu.cfs_quota_us (-1 = none) over cpu/cpu.cfs_period_us and
 * memory/memory.limit_in_bytes. Missing or unreadable files mean no limit.
 */
export function readContainerLimits(root = '/sys/fs/cgroup'): ContainerLimits {
  const v2Cpu = readText(join(root, 'cpu.max'));
  const v2Memory = readText(join(root, 'memory.max'));
  if (v2Cpu !== undefined || v2Memory !== undefined) {
    const limits: ContainerLimits = { source: 'cgroup v2' };
    const [quota, period] = (v2Cpu ?? '').split(/\s+/);
    const q = positiveNumber(quota);
    const p = positiveNumber(period ?? '100000');
    if (q !== undefined && p !== undefined) limits.cpuQuota = q / p;
    const memory = positiveNumber(v2Memory);
    if (memory !== undefined) limits.memoryLimitBytes = memory;
    return limits;
  }
  const v1Quota = readText(join(root, 'cpu', 'cpu.cfs_quota_us')) ?? readText(join(root, 'cpu,cpuacct', 'cpu.cfs_quota_us'));
  const v1Period = readText(join(root, 'cpu', 'cpu.cfs_period_us')) ?? readText(join(root, 'cpu,cpuacct', 'cpu.cfs_period_us'));
  const v1Memory = readText(join(root, 'memory', 'memory.limit_in_bytes'));
  if (v1Quota === undefined && v1Memory === undefined) return { source: 'none' };
  const limits: ContainerLimits = { source: 'cgroup v1' };
  const q = positiveNumber(v1Quota);
  const p = positiveNumber(v1Period);
  if (q !== undefined && p !== undefined) limits.cpuQuota = q / p;
  const memory = positiveNumber(v1Memory);
  if (memory !== undefined && memory < V1_UNLIMITED_BYTES) limits.memoryLimitBytes = memory;
  return limits;
}

export interface PoolSizing {
  /** The pool size given to every guard that sets none. */
  size: number;
  /** What bounded it: "cpu quota", "cores" or "memory limit". */
  boundBy: 'cpu quota' | 'cores' | 'memory limit';
  cores: number;
  cpuQuota?: number;
  memoryLimitMib?: number;
  /** Instances of every guard the memory limit leaves room for, when there is one. */
  memoryAllows?: number;
  source: ContainerLimits['source'];
  /** One sentence for the log. */
  reason: string;
}

export interface SizedGuard {
  name: string;
  poolSize?: number;
  memoryLimitMb: number;
}

/**
 * Instances per guard: as many as there are CPUs to run them (the quota
 * rounded up, at most the cores), and no more than fit in the memory limit
 * once the main thread, the guards with a pool size of their own and the
 * headroom are taken out. Each instance is counted at its guard's full
 * linear-memory cap plus its worker's own heap. Never below 1.
 */
export function choosePoolSize(guards: SizedGuard[], limits: ContainerLimits, cores = availableParallelism()): PoolSizing {
  const perInstance = (g: SizedGuard) => INSTANCE_OVERHEAD_MIB + g.memoryLimitMb;
  const cpuBound = limits.cpuQuota !== undefined ? Math.max(1, Math.min(cores, Math.ceil(limits.cpuQuota))) : cores;
  const cpuName = limits.cpuQuota !== undefined && cpuBound < cores ? 'cpu quota' : 'cores';
  const sizing: Omit<PoolSizing, 'size' | 'boundBy' | 'reason'> = {
    cores,
    source: limits.source,
    ...(limits.cpuQuota !== undefined ? { cpuQuota: limits.cpuQuota } : {}),
  };
  const cpuReason =
    cpuName === 'cpu quota' ? `a CPU quota of ${round(limits.cpuQuota!)} CPUs (${limits.source})` : `${cores} cores`;
  if (limits.memoryLimitBytes === undefined) {
    return { ...sizing, size: cpuBound, boundBy: cpuName, reason: `${cpuBound} instances per guard: ${cpuReason}, no memory limit` };
  }
  const limitMib = limits.memoryLimitBytes / MiB;
  const fixedMib = guards.filter((g) => g.poolSize !== undefined).reduce((sum, g) => sum + g.poolSize! * perInstance(g), 0);
  const flexibleMib = guards.filter((g) => g.poolSize === undefined).reduce((sum, g) => sum + perInstance(g), 0);
  const budgetMib = limitMib * (1 - HEADROOM) - BASE_MIB - fixedMib;
  const memoryAllows = flexibleMib > 0 ? Math.max(0, Math.floor(budgetMib / flexibleMib)) : cpuBound;
  const size = Math.max(1, Math.min(cpuBound, memoryAllows));
  const boundBy = memoryAllows < cpuBound ? 'memory limit' : cpuName;
  const memoryReason =
    `a memory limit of ${Math.round(limitMib)} MiB (${limits.source}) leaves room for ${memoryAllows} of each ` +
    `(${BASE_MIB} MiB base, ${HEADROOM * 100}% headroom, ${INSTANCE_OVERHEAD_MIB} MiB plus the guard's memory limit per instance)`;
  const reason =
    boundBy === 'memory limit'
      ? `${size} instances per guard: ${memoryReason}; ${cpuReason} would allow ${cpuBound}`
      : `${size} instances per guard: ${cpuReason}; ${memoryReason}`;
  return { ...sizing, memoryLimitMib: Math.round(limitMib), memoryAllows, size, boundBy, reason };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Linux /proc readings about a child process: its resident memory, and the TCP
 * port it listens on (so the service can run with WASMGUARD_PORT=0 and a quiet
 * log level, untouched by the bench).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** VmRSS of a process in bytes (worker threads included: they share the process), or undefined once it is gone. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

function socketInodes(pid) {
  const inodes = new Set();
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Ports of the TCP sockets in LISTEN state that the process holds. */
export function listeningPorts(pid) {
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return [];
  const ports = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
      ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return [...new Set(ports)];
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system, all threads) a process has used so far, in ms, or undefined once it is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine so far (all CPUs, everything but idle and iowait), in ms. */
export function machineBusyMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Scheduler time of one thread so far (the main thread, the event loop, has the process's id), in ms:
 * on a CPU, and runnable but waiting for one. Undefined once it is gone or where the kernel keeps no
 * schedstat.
 */
export function threadSchedMs(pid, tid = pid) {
  try {
    const [onCpuNs, waitingNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { onCpu: onCpuNs / 1e6, waiting: waitingNs / 1e6 };
  } catch {
    return undefined;
  }
}

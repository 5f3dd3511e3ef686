import { fileURLToPath } from 'node:url';
import type { ServerProcess } from './process.js';

/** A module to preload with `node --import`: it reports the fault-signal listeners the process ever had. */
export const SIGNAL_PROBE = fileURLToPath(new URL('./signal-probe.mjs', import.meta.url));

/** What the preloaded probe saw: fault-signal listeners ever added, and those still there at exit. */
export function probeReport(server: ServerProcess): { added: string[]; now: string[] } {
  const line = server.stderr().split('\n').find((l) => l.startsWith('signal-probe '));
  if (!line) throw new Error(`the signal probe printed nothing; stderr: ${server.stderr()}`);
  return JSON.parse(line.slice('signal-probe '.length)) as { added: string[]; now: string[] };
}
